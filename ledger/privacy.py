"""Personal data (个人信息) shown the least: the one masking rule.

The ledger holds a 身份证号, a bank account and a phone number for every payee. Each
leaves the ledger whole only where :data:`ledger.permissions.IN_FULL` names the place
and the reader's role; everywhere else, and to everyone else, it is masked here:

- 身份证号: the region (first 6) and the last 4, ``150102********9023``;
- bank account: the last 4 whatever its length, ``***************8901``;
- phone: the last 4, ``*******5678``.

The audit log keeps no whole number either (:mod:`ledger.audit`): a 身份证号 in an entry
is masked and followed by its :func:`pseudonym`, a keyed hash, so that an investigator
can tell whether two entries name the same person without the log saying who.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from ledger.books.chain_keys import KeyRing

PSEUDONYM_LENGTH: Final = 10
"""Hex digits of a pseudonym: 40 bits, no two people of a county alike by chance."""


def _last(value: str, shown: int) -> str:
    return "*" * (len(value) - shown) + value[-shown:] if len(value) > shown else "*" * len(value)


def mask_id_number(value: str) -> str:
    """``150102********9023``: the region and the last four (a value too short to keep
    any of it hidden is masked whole)."""
    return value[:6] + _last(value[6:], 4) if len(value) > 10 else "*" * len(value)


def mask_account(value: str) -> str:
    """A bank account's last four, whatever its length: ``****5678`` of an 8-digit one."""
    return _last(value, 4)


def mask_phone(value: str) -> str:
    """A phone number's last four."""
    return _last(value, 4)


def pseudonym_key(ring: KeyRing) -> bytes:
    """The key the audit log's pseudonyms are made with, derived from the chain key ring
    (:meth:`KeyRing.derived`): a copy of the database alone cannot reverse a pseudonym by
    trying every 身份证号."""
    return ring.derived("audit pseudonym")


def pseudonym(value: str, key: bytes) -> str:
    """The same ten hex digits for the same number under the same key, and nothing an
    outsider can turn back into the number."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]
