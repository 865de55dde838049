"""The domain's errors: one tree under :class:`LedgerError`.

Every refusal the ledger makes is one of these, so the command line and the
HTTP service can each map the whole tree in one place. Each error says what
was refused and why in words an operator can act on; where the cause is one
input field, the error names it.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the domain."""


class ValidationError(LedgerError):
    """An input value is not acceptable; ``field`` names it (``row`` too, for files)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidAccountError(ValidationError):
    """An account address does not have one of the known shapes."""


class ClosedPeriodError(ValidationError):
    """A write is dated in a closed accounting period (已结账); nothing was written."""


class NotFoundError(LedgerError):
    """The thing asked for does not exist."""


class OverdraftError(LedgerError):
    """A transaction would take a guarded account below zero; nothing was written."""

    def __init__(self, account: str, balance: int, change: int) -> None:
        super().__init__(
            f"余额不足 (insufficient balance): {account} holds {balance} fen, "
            f"the transaction would take {-change} fen and leave {balance + change} fen"
        )
        self.account = account
        self.balance = balance
        self.change = change


class IdempotencyConflictError(LedgerError):
    """The idempotency key was already used for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different transaction; "
            "a key may only be repeated with exactly the same content"
        )
        self.key = key


class ReversalError(LedgerError):
    """A reversal was refused: already reversed, or itself a reversal."""


class InvalidInputError(LedgerError):
    """Several inputs were refused at once; ``errors`` lists every one of them."""

    def __init__(self, errors: list[ValidationError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class InvalidTransitionError(LedgerError):
    """The batch's state does not allow this action."""


class MakerCheckerError(LedgerError):
    """Maker-checker refused the action: the preparer approving, or a repeated approver."""


class PermissionDeniedError(LedgerError):
    """The user's role does not allow this action (``action`` names it, when known)."""

    def __init__(self, message: str, *, action: str = "") -> None:
        super().__init__(message)
        self.action = action


class UnknownUserError(LedgerError):
    """No such user, or the user is disabled."""


def length_error(field: str, value: str, limit: int) -> ValidationError | None:
    """The refusal of a text longer than ``limit`` characters, or ``None``."""
    if len(value) <= limit:
        return None
    return ValidationError(
        field, f"最多{limit}个字符 (at most {limit} characters; this one has {len(value)})"
    )
