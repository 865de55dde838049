"""账链密钥: the secret keys that seal the hash chain, kept outside the database.

Each transaction's hash is an HMAC-SHA-256 of its canonical content and the
previous hash (:func:`ledger.postings.chain_hash`), under the key in force at
its sequence number. Someone who can write the database but cannot read the
key — a database administrator — cannot seal a forged or rewritten
transaction: the public algorithm gives a hash that :func:`ledger.book.verify`
refuses.

A :class:`KeyRing` lists the keys with the sequence number each starts sealing
at. It lives in a key file or an environment variable (``schema/keys.py``),
never in the database, so the database cannot say which transactions are keyed:

- transactions before the ring's first key were sealed before the ledger was
  keyed and are checked with plain SHA-256 (they are still held by the first
  keyed transaction, whose sealed content includes the hash before it);
- a rotation adds a key starting at the next sequence number; earlier keys
  stay in the ring to check what they sealed and seal nothing more;
- a ring whose latest key starts beyond the end of the chain belongs to a
  longer ledger: this one was truncated or restored from an older copy.

Ring text: one key per line, ``FROM_SEQ:KEY`` with the key as 64 hex digits;
``#`` starts a comment; commas separate keys on one line (the environment
variable's form).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Final

from ledger.errors import ValidationError

KEY_BYTES: Final = 32
"""256-bit keys: the HMAC-SHA-256 block's worth of secret, as RFC 2104 advises."""

_ENTRY: Final = re.compile(r"(\d{1,18}):([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class ChainKey:
    """One sealing key and the first sequence number it seals."""

    from_seq: int
    secret: bytes = field(repr=False)

    @property
    def id(self) -> str:
        """A name for the key that can be printed: an HMAC of a fixed text, which says
        nothing of the key but tells two keys apart."""
        return hmac.new(self.secret, b"studio-ledger chain key id", hashlib.sha256).hexdigest()[:12]

    def line(self) -> str:
        return f"{self.from_seq}:{self.secret.hex()}"


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Keys in the order they took over, each starting at a later sequence number."""

    keys: tuple[ChainKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring holds at least one key")
        starts = [k.from_seq for k in self.keys]
        if starts != sorted(set(starts)) or starts[0] < 1:
            raise ValueError(f"keys must start at rising sequence numbers from 1: {starts}")

    @property
    def keyed_from(self) -> int:
        """The first sequence number sealed with a key; earlier ones are plain SHA-256."""
        return self.keys[0].from_seq

    @property
    def current(self) -> ChainKey:
        """The key that seals new transactions."""
        return self.keys[-1]

    def key_for(self, seq: int) -> ChainKey | None:
        """The key that sealed (or seals) transaction ``seq``; None before the ring's first."""
        found = None
        for key in self.keys:
            if key.from_seq > seq:
                break
            found = key
        return found

    def rotated(self, head_seq: int, secret: bytes) -> KeyRing:
        """This ring with ``secret`` sealing from the transaction after ``head_seq``.

        A current key that has sealed nothing yet (it starts after the head) is
        replaced rather than kept: no transaction needs it to be checked.
        """
        start = head_seq + 1
        kept = tuple(k for k in self.keys if k.from_seq < start)
        return KeyRing((*kept, ChainKey(start, secret)))

    def derived(self, purpose: str) -> bytes:
        """A key for ``purpose`` (the console's CSRF tokens, the audit log's pseudonyms)
        derived from the ring's first key: kept outside the database like the ring, the
        same in every worker, and unchanged by rotations — except one made before the
        first transaction, which replaces a first key that has sealed nothing."""
        label = f"studio-ledger {purpose}".encode()
        return hmac.new(self.keys[0].secret, label, hashlib.sha256).digest()

    def text(self) -> str:
        """The ring as a key file holds it."""
        return "".join(f"{k.line()}\n" for k in self.keys)

    def env_text(self) -> str:
        """The ring as one line, for an environment variable."""
        return ",".join(k.line() for k in self.keys)


def new_secret() -> bytes:
    """A fresh random key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def first_ring(head_seq: int) -> KeyRing:
    """A new ring for a ledger whose chain ends at ``head_seq``: its transactions so far
    stay plain SHA-256, every later one is keyed."""
    return KeyRing((ChainKey(head_seq + 1, new_secret()),))


def parse_key_ring(text: str, *, source: str) -> KeyRing:
    """The ring in ``text`` (see the module's doc), or a refusal naming ``source`` and
    the line at fault. The refusal never repeats a key."""
    keys: list[ChainKey] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for written in line.split("#", 1)[0].split(","):
            entry = written.strip().lower()
            if not entry:
                continue
            found = _ENTRY.fullmatch(entry)
            where = f"{source} line {number}"
            if found is None:
                raise ValidationError(
                    where,
                    "账链密钥格式应为 FROM_SEQ:KEY，KEY 为 64 位十六进制",
                )
            start = int(found[1])
            if start < 1 or (keys and start <= keys[-1].from_seq):
                raise ValidationError(
                    where,
                    f"密钥的起始序号须从 1 起逐行递增，此处为 {start}",
                )
            keys.append(ChainKey(start, bytes.fromhex(found[2])))
    if not keys:
        raise ValidationError(source, "没有账链密钥")
    return KeyRing(tuple(keys))
