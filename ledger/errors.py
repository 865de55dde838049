"""The domain's errors: one tree under :class:`LedgerError`.

Every refusal the ledger makes is one of these, so the command line and the
HTTP service can each map the whole tree in one place. Each error says what
was refused and why in words an operator can act on; where the cause is one
input field, the error names it.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Final

from ledger.messages import field_label


class LedgerError(Exception):
    """Base of every refusal by the domain."""


class ValidationError(LedgerError):
    """An input value is not acceptable; ``field`` names it (``row`` too, for files) by a
    stable code; the text reads it by name (:func:`ledger.messages.field_label`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field_label(field)}：{message}")
        self.field = field
        self.message = message


class InvalidAccountError(ValidationError):
    """An account address does not have one of the known shapes."""


class ClosedPeriodError(ValidationError):
    """A write is dated in a closed accounting period (已结账); nothing was written."""


class FutureDateError(ValidationError):
    """A write is dated after today (:mod:`ledger.clock`); nothing was written."""


class NotFoundError(LedgerError):
    """The thing asked for does not exist."""


class OverdraftError(ValidationError):
    """A write would take a guarded account below zero at the end of some day, now or
    from its date on; nothing was written. ``field`` is the write's date field.

    Attributes:
      account: the account's address (for code; people read ``label``).
      label: the account as the books name it: 科目编码, 科目名称 and its studio.
      day: the first day its closing balance would be below zero.
      shortfall: how far below zero, in fen (positive).
    """

    def __init__(
        self, field: str, message: str, *, account: str, label: str, day: date, shortfall: int
    ) -> None:
        super().__init__(field, message)
        self.account = account
        self.label = label
        self.day = day
        self.shortfall = shortfall


class IdempotencyConflictError(LedgerError):
    """The idempotency key was already used for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"幂等键 {key!r} 已用于另一笔内容不同的交易；同一个键只能用于内容完全相同的重复提交"
        )
        self.key = key


class ReversalError(LedgerError):
    """A reversal was refused: already reversed, or itself a reversal."""


class InvalidInputError(LedgerError):
    """Several inputs were refused at once; ``errors`` lists every one of them."""

    def __init__(self, errors: list[ValidationError]) -> None:
        super().__init__("；".join(str(e) for e in errors))
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


class ChainKeyError(LedgerError):
    """The chain key cannot be used to seal: missing, unreadable, malformed, or written
    for a longer ledger than this one. Nothing was written; an operator must act."""


def length_error(field: str, value: str, limit: int) -> ValidationError | None:
    """The refusal of a text longer than ``limit`` characters, or ``None``."""
    if len(value) <= limit:
        return None
    return ValidationError(field, f"最多{limit}个字符（现有{len(value)}个字符）")


HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Unicode categories a reader cannot see or that change how text reads: controls (tab,
newline, BEL), format characters (zero-width space and joiners, the bidirectional
overrides and isolates, the byte-order mark), surrogates, private use, unassigned
code points, line and paragraph separators."""

SCRIPT_FORMAT_CHARACTERS: Final = frozenset({"\u180e"})
"""Format characters that belong to a script people write names in: the Mongolian
vowel separator (蒙古文). The Mongolian free variation selectors are marks, not format
characters, and pass anyway."""


def hidden_character_error(field: str, value: str) -> ValidationError | None:
    """The refusal of a name, memo or code holding a character a reader cannot see or
    that reorders the text (``王\u200b芳``, ``\u202eRLO``), or ``None``. Chinese,
    Mongolian, Tibetan, Uyghur and every other script's letters and marks pass."""
    if value.isprintable():  # no Other or Separator character at all: the common case, in C
        return None
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in HIDDEN_CATEGORIES and char not in SCRIPT_FORMAT_CHARACTERS:
            name = unicodedata.name(char, "未分配的码位")
            return ValidationError(
                field,
                f"第{position}个字符 U+{ord(char):04X}（{name}）是控制字符、不可见字符或"
                "文字方向控制符，请删除",
            )
    return None


def inert(value: str) -> str:
    """``value`` with every hidden character (:data:`HIDDEN_CATEGORIES`: controls, escape
    sequences' ESC, bidirectional overrides, zero-width characters, NUL, line separators)
    written out as ``\\u202e``: text from outside kept for the record can then neither
    drive a terminal, reorder what a reader sees, nor hide part of itself."""
    return "".join(
        f"\\u{ord(c):04x}"
        if unicodedata.category(c) in HIDDEN_CATEGORIES and c not in SCRIPT_FORMAT_CHARACTERS
        else c
        for c in value
    )


def digits(value: str) -> bool:
    """Whether ``value`` is a whole number as the ledger reads one: ASCII digits only.
    ``str.isdigit`` also says yes to ``²`` (which ``int`` then refuses) and to ``２０２４``
    (which ``int`` silently reads): a number typed anywhere is checked with this."""
    return value.isascii() and value.isdigit()


def text_errors(field: str, value: str, limit: int) -> list[ValidationError]:
    """Every refusal of a piece of text: too long, or holding a hidden character."""
    return [
        error
        for error in (length_error(field, value, limit), hidden_character_error(field, value))
        if error is not None
    ]
