"""Stipends: the entitlements of a year, and the batch that pays them — its states and
lines (:mod:`ledger.batches.batch`) and its services (:mod:`ledger.batches.disbursement`)."""
