"""Money coming in and going out of a studio's fund: the year's appropriation and the
领导小组's funding decisions, matching receipts, expenses and their plans."""
