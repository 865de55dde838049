"""原始凭证: the originals a 记账凭证 rests on (the 发票, the signed 发放表, the bank's
file and its answer), kept with the voucher and sealed like it.

Invariants:

- An original is accepted by what its bytes are, never by its name: PDF, OFD, JPEG,
  PNG or xlsx (:func:`file_type`); anything else is refused naming what it is (an
  executable renamed ``.pdf`` is refused as 可执行文件). The ledger's own CSV answer
  from the bank is the one other kind, and only the ledger attaches it. No original is
  larger than :data:`MAX_BYTES`.
- The bytes are kept once, by their SHA-256 (content-addressed): the same file attached
  to two vouchers is stored once, and an attachment names its content by that hash.
- Attachments are append-only records in their own hash chain: each is sealed
  (HMAC-SHA-256 under the current chain key, :mod:`ledger.books.chain_keys`, whose id
  it keeps) over its canonical content and the previous record's hash, and is added
  under the ledger's chain head lock, so one writer at a time extends it. A record is
  never changed or removed; the database refuses both (triggers).
- :func:`verify` walks the chain and re-hashes every original's bytes: a changed byte,
  a missing original or a record that no longer matches its seal is named (``ATT:``).
- An original the ledger makes or receives (its ``origin``: ``batch:7:roster``) is
  attached once to a voucher: exporting a batch's files again adds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Protocol

from ledger import program
from ledger.books import book
from ledger.books.book import Anchor, VerifyReport
from ledger.books.chain_keys import ChainKey, KeyRing
from ledger.books.postings import GENESIS_HASH, Voucher, utc_now
from ledger.errors import (
    ChainKeyError,
    NotFoundError,
    ValidationError,
    hidden_character_error,
    length_error,
)
from ledger.permissions import allows, require, unnamed_refusal
from ledger.users import acting, reader

MAX_BYTES: Final = 20 * 1024 * 1024
"""The largest original accepted: 20 MiB, a scanned multi-page 发票 at 300 dpi."""
MAX_NAME: Final = 200
MAX_NOTE: Final = 200

PDF: Final = "PDF"
OFD: Final = "OFD"
JPEG: Final = "JPEG"
PNG: Final = "PNG"
XLSX: Final = "xlsx"
CSV: Final = "CSV"
ACCEPTED: Final = (PDF, OFD, JPEG, PNG, XLSX)
"""What a user may attach."""
MEDIA_TYPES: Final = {
    PDF: "application/pdf",
    OFD: "application/ofd",
    JPEG: "image/jpeg",
    PNG: "image/png",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    CSV: "text/csv",
}

SUFFIXES: Final = {PDF: "pdf", OFD: "ofd", JPEG: "jpg", PNG: "png", XLSX: "xlsx", CSV: "csv"}

_SIGNATURES: Final = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"MZ", "Windows 可执行文件（EXE/DLL）"),
    (b"\x7fELF", "ELF 可执行文件"),
    (b"\xca\xfe\xba\xbe", "Mach-O 可执行文件"),
    (b"\xcf\xfa\xed\xfe", "Mach-O 可执行文件"),
    (b"#!", "脚本文件"),
    (b"GIF8", "GIF 图片"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文档（doc/xls）"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
)


def file_type(content: bytes) -> str:
    """What ``content`` is, by its first bytes (and, for a zip, its members' names): one
    of :data:`ACCEPTED`, or a description of what it is instead (``Windows 可执行文件``)."""
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    if content.startswith(b"PK\x03\x04"):
        return _zip_type(content)
    if not content:
        return "空文件"
    return "文本文件" if _is_text(content[:4096]) else "无法识别的文件"


def _is_text(prefix: bytes) -> bool:
    """Whether ``prefix`` reads as UTF-8 or GB18030 text (a cut through its last
    character forgiven) and holds no NUL: a CSV or a plain text, not a program."""
    if b"\x00" in prefix:
        return False
    for encoding in ("utf-8", "gb18030"):
        for cut in range(4):
            try:
                prefix[: len(prefix) - cut].decode(encoding)
            except UnicodeDecodeError:
                continue
            return True
    return False


def _zip_type(content: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "损坏的 ZIP 压缩包"
    if "OFD.xml" in names:
        return OFD
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return XLSX
    if "word/document.xml" in names:
        return "Word 文档（docx）"
    return "ZIP 压缩包"


def size_error(name: str, size: int) -> ValidationError | None:
    """The refusal of a file of ``size`` bytes as an original, or ``None``: the one
    limit, which the command line checks before it reads a file whole."""
    if size <= MAX_BYTES:
        return None
    return ValidationError(
        "文件", f"{name} 大小 {size:,} 字节，超过原始凭证上限 {MAX_BYTES // (1024 * 1024)} MB"
    )


def accepted_type(content: bytes, name: str) -> str:
    """``content``'s type when it is one a user may attach (:data:`ACCEPTED`) and not too
    large; else a refusal naming ``文件`` (its name, its size or what it really is)."""
    if refused := size_error(name, len(content)):
        raise refused
    found = file_type(content)
    if found not in ACCEPTED:
        raise ValidationError(
            "文件",
            f"{name} 的内容是{found}，不是可作原始凭证的文件（只接受 "
            f"{'、'.join(ACCEPTED)}，按文件内容识别，不看扩展名）",
        )
    return found


@dataclass(frozen=True, slots=True)
class Attachment:
    """One original attached to a voucher, as recorded.

    Attributes:
      id: its place in the attachments' chain, from 1 without gaps.
      voucher_seq: the transaction (voucher) it supports.
      sha256: its bytes' SHA-256, by which they are kept.
      kind: what its bytes are (:func:`file_type`).
      origin: ``""`` for an upload; for a file the ledger made or received, what it is
        (``batch:7:roster``, ``batch:7:bank_file``, ``batch:7:results:…``).
      added_at: when (UTC, naive, microseconds).
      key_id: the id of the chain key that sealed it.
    """

    id: int
    voucher_seq: int
    voucher: Voucher
    sha256: str
    size: int
    kind: str
    filename: str
    note: str
    origin: str
    added_by: str
    added_at: datetime
    prev_hash: str
    hash: str
    key_id: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.kind, "application/octet-stream")

    @property
    def suffix(self) -> str:
        """The file name ending its kind has (``pdf``), whatever its name said."""
        return SUFFIXES.get(self.kind, "bin")


def canonical_content(a: Attachment) -> str:
    """The exact text sealed: stable across databases and Python versions."""
    return json.dumps(
        {
            "id": a.id,
            "voucher_seq": a.voucher_seq,
            "voucher": str(a.voucher),
            "sha256": a.sha256,
            "size": a.size,
            "kind": a.kind,
            "filename": a.filename,
            "note": a.note,
            "origin": a.origin,
            "added_by": a.added_by,
            "added_at": a.added_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def seal(prev_hash: str, a: Attachment, key: bytes) -> str:
    """HMAC-SHA-256 under ``key`` over the previous record's hash and ``a``'s content."""
    payload = f"{prev_hash}\n{canonical_content(a)}".encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


# -- the files the ledger makes and receives, by origin (the one place they are named) ----

ROSTER: Final = "roster"
BANK_FILE: Final = "bank_file"
RESULTS: Final = "results"
BANK_FILES: Final = frozenset({BANK_FILE, RESULTS})
"""The files exchanged with the bank: whole 身份证号 and bank accounts."""
NOTES: Final = {
    ROSTER: "劳务补贴发放表（系统生成，签收后的纸质件另附）",
    BANK_FILE: "批量代发文件（发送银行的原件，系统附上）",
    RESULTS: "银行代发结果文件（银行回单，系统附上）",
}


def origin(batch_id: int, what: str, digest: str = "") -> str:
    """The origin a batch's file is kept under: ``batch:7:roster``, ``batch:7:bank_file``,
    ``batch:7:results:<the file's hash, 16 hex>`` (the bank may answer in several files)."""
    if what not in NOTES:
        raise ValueError(f"not a file the ledger makes or receives: {what}")
    return f"batch:{batch_id}:{what}" + (f":{digest[:16]}" if what == RESULTS else "")


class AttachmentStore(Protocol):
    """What originals need from storage; ``schema.attachment_store`` implements it."""

    def last(self) -> tuple[int, str]:
        """The kept head of the originals' chain: the last record's id and hash (0 and
        :data:`GENESIS_HASH` when none), kept beside the ledger's chain head."""

    def add(self, attachment: Attachment, content: bytes | None) -> None:
        """Keep the record, and ``content`` under its hash unless kept already (None:
        the caller knows it is), and move the kept head to it."""

    def has_content(self, sha256: str) -> bool: ...

    def content(self, sha256: str) -> bytes | None: ...

    def get(self, attachment_id: int) -> Attachment | None: ...

    def of_voucher(self, voucher_seq: int) -> list[Attachment]: ...

    def by_origin(self, origin: str) -> list[Attachment]: ...

    def counts(self, voucher_seqs: Iterable[int]) -> dict[int, int]:
        """How many originals each voucher has (those with none left out)."""

    def iter_all(self) -> Iterator[Attachment]:
        """Every record, in id order, a chunk at a time."""

    def iter_digests(self) -> Iterator[tuple[str, int, str]]:
        """Each kept content's hash as recorded, its size and the SHA-256 of its bytes
        as read now, a chunk at a time."""


class Stores(program.Stores, Protocol):
    @property
    def attachments(self) -> AttachmentStore: ...


def attach(
    stores: Stores,
    number: str,
    filename: str,
    content: bytes,
    *,
    by: str,
    note: str = "",
) -> Attachment:
    """Attach ``content`` (a file named ``filename``) to voucher ``number`` as ``by``,
    with ``note``: refused when the user may not, the voucher does not exist, or the
    file is not an accepted original (:func:`accepted_type`)."""
    acting(stores, by, "attachment.add")
    name = _filename(filename)
    note = note.strip()
    if refused := length_error("说明", note, MAX_NOTE) or hidden_character_error("说明", note):
        raise refused
    kind = accepted_type(content, name)
    voucher = Voucher.parse(number)
    seq = stores.ledger.voucher_seq(voucher)
    if seq is None:
        raise NotFoundError(f"凭证{voucher}不存在")
    key = book.sealing_key(stores.ledger)  # the head locked: read what is there, then add
    sha256 = hashlib.sha256(content).hexdigest()
    if same := next((a for a in stores.attachments.of_voucher(seq) if a.sha256 == sha256), None):
        raise ValidationError(
            "文件",
            f"{name} 与附件#{same.id}（{same.filename}）内容相同，已附于{voucher}，不重复附加",
        )
    return _record(
        stores, key, seq, voucher, name, sha256, len(content), content, kind, note, "", by
    )


def attach_own(
    stores: Stores,
    voucher_seq: int,
    filename: str,
    content: bytes,
    *,
    origin: str,
    by: str,
    note: str,
) -> Attachment | None:
    """Attach a file the ledger made or received (``origin``: ``batch:7:roster``) to the
    voucher at ``voucher_seq``, as part of ``by``'s action, once: ``None`` when that
    voucher has an original of this origin already. No size limit: the ledger made or
    received it whole; what is not an xlsx is the bank's CSV answer (the ledger has read
    it as one already), so attaching never fails the action it belongs to."""
    key = book.sealing_key(stores.ledger)  # the head locked: two exports at once attach once
    found = stores.ledger.get(voucher_seq)
    if found is None:
        raise NotFoundError(f"第{voucher_seq}笔交易不存在")
    if any(a.voucher_seq == voucher_seq for a in stores.attachments.by_origin(origin)):
        return None
    kind = file_type(content)
    if kind not in ACCEPTED:
        kind = CSV
    sha256 = hashlib.sha256(content).hexdigest()
    name = _filename(filename)
    return _record(
        stores,
        key,
        voucher_seq,
        found.voucher,
        name,
        sha256,
        len(content),
        content,
        kind,
        note,
        origin,
        by,
    )


def link_own(
    stores: Stores, voucher_seq: int, *, origin: str, by: str, note: str
) -> Attachment | None:
    """Attach to the voucher at ``voucher_seq`` the original already kept for ``origin``
    on another voucher (the bank file, attached to the approval when it was sent, to the
    payment the bank made from it): the very bytes sent, not a file made again. ``None``
    when there is none, or that voucher has it already."""
    key = book.sealing_key(stores.ledger)
    earlier = stores.attachments.by_origin(origin)
    voucher = stores.ledger.vouchers_of([voucher_seq]).get(voucher_seq)  # not its postings
    if not earlier or voucher is None or any(a.voucher_seq == voucher_seq for a in earlier):
        return None
    first = earlier[0]
    return _record(
        stores,
        key,
        voucher_seq,
        voucher,
        first.filename,
        first.sha256,
        first.size,
        None,
        first.kind,
        note,
        origin,
        by,
    )


def _record(
    stores: Stores,
    key: ChainKey,
    voucher_seq: int,
    voucher: Voucher,
    filename: str,
    sha256: str,
    size: int,
    content: bytes | None,
    kind: str,
    note: str,
    origin: str,
    by: str,
) -> Attachment:
    """Seal and keep the next record of the originals' chain under ``key`` (the caller
    holds the head lock, :func:`ledger.books.book.sealing_key`), with ``content`` unless
    it is an original kept already (``None``)."""
    last_id, last_hash = stores.attachments.last()
    record = Attachment(
        last_id + 1,
        voucher_seq,
        voucher,
        sha256,
        size,
        kind,
        filename,
        note,
        origin,
        by,
        utc_now(),
        last_hash,
        "",
        key.id,
    )
    sealed = _sealed(record, key.secret)
    keep = None if content is None or stores.attachments.has_content(sha256) else content
    stores.attachments.add(sealed, keep)
    return sealed


def _sealed(record: Attachment, key: bytes) -> Attachment:
    return replace(record, hash=seal(record.prev_hash, record, key))


def _filename(filename: str) -> str:
    """The file's own name, without the folders a browser or a shell may send."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise ValidationError("文件", "原始凭证须有文件名")
    if refused := length_error("文件", name, MAX_NAME) or hidden_character_error("文件", name):
        raise refused
    return name


def of_voucher(stores: Stores, number: str) -> list[Attachment]:
    """The originals of voucher ``number``, in the order they were attached."""
    voucher = Voucher.parse(number)
    seq = stores.ledger.voucher_seq(voucher)
    if seq is None:
        raise NotFoundError(f"凭证{voucher}不存在")
    return stores.attachments.of_voucher(seq)


def holds_whole_personal_data(attachment: Attachment) -> bool:
    """Whether ``attachment`` is a file exchanged with the bank (whole 身份证号 and
    accounts: its origin says so, sealed with it), which only those who may read the
    bank file may read."""
    parts = attachment.origin.split(":")
    return len(parts) >= 3 and parts[0] == "batch" and parts[2] in BANK_FILES


WHOLE_DATA_ACTION: Final = "batch.bank_file"
"""Who may read a file exchanged with the bank: those who may read the bank file."""


def readable_by(role: str | None, attachment: Attachment) -> bool:
    """Whether a reader of ``role`` (``None``: unnamed) may have ``attachment``'s bytes:
    anyone who may read the books, but a file exchanged with the bank only those who may
    read the bank file."""
    if not holds_whole_personal_data(attachment):
        return True
    return role is not None and allows(role, WHOLE_DATA_ACTION)


def download_action(attachment: Attachment) -> str:
    """The audit log's action for taking ``attachment``: ``batch.bank_file`` for a file
    exchanged with the bank (whole 身份证号 left the system), else ``attachment.get``."""
    return WHOLE_DATA_ACTION if holds_whole_personal_data(attachment) else "attachment.get"


def original(stores: Stores, attachment_id: int, *, by: str | None) -> tuple[Attachment, bytes]:
    """Attachment ``attachment_id`` and its bytes for reader ``by``, or
    :class:`NotFoundError`; a file exchanged with the bank only for those who may read
    the bank file (:func:`readable_by`)."""
    user = reader(stores, by, "attachment.read")
    found = stores.attachments.get(attachment_id)
    content = None if found is None else stores.attachments.content(found.sha256)
    if found is None or content is None:
        raise NotFoundError(f"附件 {attachment_id} 不存在")
    if not readable_by(None if user is None else user.role, found):
        if user is None:
            raise unnamed_refusal(WHOLE_DATA_ACTION)
        require(user.name, user.role, WHOLE_DATA_ACTION)
    return found, content


def verify(store: AttachmentStore, keys: KeyRing | None) -> list[str]:
    """Everything wrong with the originals, one line each: the kept head of their chain
    not where the chain ends (records removed from its end), the first record whose seal
    or link does not hold, and every original whose bytes are missing or changed."""
    problems: list[str] = []
    expected_prev, expected_id = GENESIS_HASH, 1
    last = (0, GENESIS_HASH)
    recorded: dict[str, Attachment] = {}
    broken = False
    for a in store.iter_all():
        recorded.setdefault(a.sha256, a)
        last = (a.id, a.hash)
        if broken:
            continue
        reason = _link_problem(a, expected_id, expected_prev, keys)
        if reason:
            problems.append(f"附件#{a.id}（{a.voucher} {a.filename}）{reason}")
            broken = True
        expected_prev, expected_id = a.hash, a.id + 1
    head = store.last()
    if head != last:
        problems.insert(
            0,
            f"附件链头记为附件#{head[0]} {head[1][:12]}…，附件链止于附件#{last[0]} "
            f"{last[1][:12]}…：附件记录被删除或改动",
        )
    kept: set[str] = set()
    for sha256, size, digest in store.iter_digests():
        kept.add(sha256)
        first = recorded.get(sha256)
        if first is None:
            continue
        if digest != sha256 or size != first.size:
            problems.append(
                f"附件#{first.id}（{first.voucher} {first.filename}）的内容已被改动：现有内容的 "
                f"SHA-256 为 {digest[:16]}…，登记的是 {sha256[:16]}…"
            )
    problems.extend(
        f"附件#{a.id}（{a.voucher} {a.filename}）的内容已不在库中"
        for sha256, a in recorded.items()
        if sha256 not in kept
    )
    return problems


def _link_problem(a: Attachment, expected_id: int, prev: str, keys: KeyRing | None) -> str:
    if a.id != expected_id:
        return f"编号不连续：此处应为附件#{expected_id}"
    if a.prev_hash != prev:
        return "与前一附件的哈希链接不符"
    if keys is None:
        return "无法校验：没有账链密钥"
    key = next((k for k in keys.keys if k.id == a.key_id), None)
    if key is None:
        return f"的封印密钥 {a.key_id} 不在密钥环中"
    if seal(a.prev_hash, a, key.secret) != a.hash:
        return "的登记内容与封印不符，已被改写"
    return ""


def verified(stores: Stores, anchors: Sequence[Anchor] = ()) -> VerifyReport:
    """:func:`ledger.books.book.verify` of the ledger, and :func:`verify` of its originals."""
    report = book.verify(stores.ledger, anchors)
    try:
        keys: KeyRing | None = stores.ledger.chain_keys()
    except ChainKeyError:
        keys = None
    return replace(report, attachment_problems=tuple(verify(stores.attachments, keys)))
