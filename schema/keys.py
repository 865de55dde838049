"""Where the chain key ring is kept (outside the database), read and written.

The ring (:mod:`ledger.chain_keys`) is looked for, in order:

1. ``STUDIO_LEDGER_CHAIN_KEY``: the ring itself, ``FROM_SEQ:KEY[,FROM_SEQ:KEY...]``
   (for a key held in a secret store and handed to the process);
2. ``STUDIO_LEDGER_KEY_FILE``: the path of a key file;
3. by default, beside a SQLite database file (``studio-ledger.db`` →
   ``studio-ledger.db.keys``), or for PostgreSQL in the operator's configuration
   folder (``~/.config/studio-ledger/HOST-PORT-DATABASE.keys``, or under
   ``$XDG_CONFIG_HOME``).

A key file is created by ``studio-ledger db upgrade`` when there is none, with
mode 0600 in a folder only its owner can enter; a key file others may read is
refused, as ssh refuses a readable private key. It is rewritten only by a key
rotation, whole and atomically (a new file renamed over the old one).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.engine import URL

from ledger.books.chain_keys import KeyRing, parse_key_ring
from ledger.errors import ChainKeyError, ValidationError

RING_VARIABLE: Final = "STUDIO_LEDGER_CHAIN_KEY"
FILE_VARIABLE: Final = "STUDIO_LEDGER_KEY_FILE"

_HEADER: Final = (
    "# studio-ledger 账链密钥 (chain keys): FROM_SEQ:KEY, one per line.\n"
    "# Keep this file secret, outside the database's backups, and back it up on its own:\n"
    "# without it the chain cannot be checked. Never edit a line; rotate with\n"
    "# `studio-ledger keys rotate`.\n"
)


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where one database's ring is: the environment's text, or a file."""

    path: Path | None
    """The key file; None when the ring comes from :data:`RING_VARIABLE`."""
    env_text: str | None = None

    def __str__(self) -> str:
        return RING_VARIABLE if self.path is None else str(self.path)

    def exists(self) -> bool:
        return self.path is None or self.path.exists()

    def load(self) -> KeyRing:
        """The ring as it is now, or :class:`ChainKeyError` naming where and why."""
        if self.path is None:
            return _parsed(self.env_text or "", RING_VARIABLE)
        try:
            status = self.path.stat()
        except FileNotFoundError:
            raise ChainKeyError(
                f"账链密钥文件不存在：{self.path} (no chain key file; `studio-ledger db upgrade` "
                f"creates one for a new ledger, or set {FILE_VARIABLE} to where it is kept)"
            ) from None
        except OSError as error:
            raise ChainKeyError(f"无法读取账链密钥文件 {self.path}: {error.strerror}") from None
        if os.name == "posix" and status.st_mode & 0o077:
            raise ChainKeyError(
                f"账链密钥文件 {self.path} 可被他人读取，拒绝使用；运行 chmod 600 {self.path} "
                f"(the chain key file is readable by others: {stat.filemode(status.st_mode)})"
            )
        cached = _CACHE.get(self.path)
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ChainKeyError(f"无法读取账链密钥文件 {self.path}: {error}") from None
        ring = _parsed(text, str(self.path))
        _CACHE[self.path] = (stamp, ring)
        return ring

    def save(self, ring: KeyRing, *, new: bool) -> None:
        """Write ``ring`` whole: a ``new`` file only if none is there yet (else
        :class:`FileExistsError`), otherwise over the old one by an atomic rename."""
        if self.path is None:
            raise ChainKeyError(
                f"账链密钥来自环境变量 {RING_VARIABLE}，不能由程序改写 (the ring comes from "
                f"{RING_VARIABLE}: use `studio-ledger keys rotate --print` and set it yourself)"
            )
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
        text = _HEADER + ring.text()
        if new:
            _write_new(self.path, text)
            return
        fresh = self.path.with_name(f".{self.path.name}.new")
        fresh.unlink(missing_ok=True)
        _write_new(fresh, text)
        os.replace(fresh, self.path)
        _sync_folder(folder)


_CACHE: dict[Path, tuple[tuple[int, int, int], KeyRing]] = {}
"""Rings read from files, by path, with the file's inode, time and size when read: a
writer re-reads the file only when it has changed."""


def _parsed(text: str, source: str) -> KeyRing:
    try:
        return parse_key_ring(text, source=source)
    except ValidationError as error:
        raise ChainKeyError(f"账链密钥无效 (bad chain key ring): {error}") from None


def _write_new(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def key_source(url: URL) -> KeySource:
    """Where the ring of the database at ``url`` is (see the module's doc)."""
    text = os.environ.get(RING_VARIABLE)
    if text:
        return KeySource(None, text)
    named = os.environ.get(FILE_VARIABLE)
    if named:
        return KeySource(Path(named).expanduser().absolute())
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return KeySource(None, "")  # refused on use: an in-memory ledger needs the variable
        database = Path(url.database or "").absolute()
        return KeySource(database.with_name(database.name + ".keys"))
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    name = f"{url.host or 'localhost'}-{url.port or 5432}-{url.database or 'postgres'}"
    return KeySource(config / "studio-ledger" / f"{safe_name(name)}.keys")


def safe_name(name: str) -> str:
    """``name`` with every character but letters, digits and ``-_.`` made ``_``: a file's
    name from a host, a port and a database."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
