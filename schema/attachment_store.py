"""Originals attached to vouchers (:mod:`ledger.books.attachments`), on SQLAlchemy."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ledger.books.attachments import Attachment
from ledger.books.postings import Voucher
from schema.ledger_store import chunks
from schema.tables import AttachmentContentRow, AttachmentRow, ChainHeadRow, TransactionRow

READ_CHUNK: Final = 500
"""Records read at a time when the whole chain is walked."""


class SqlAttachmentStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def last(self) -> tuple[int, str]:
        row = self.session.execute(
            select(ChainHeadRow.attachments_last_id, ChainHeadRow.attachments_last_hash).where(
                ChainHeadRow.id == 1
            )
        ).one()
        return row[0], row[1]

    def add(self, attachment: Attachment, content: bytes | None) -> None:
        if content is not None:
            self.session.execute(
                insert(AttachmentContentRow).values(
                    sha256=attachment.sha256, size=len(content), content=content
                )
            )
        self.session.execute(
            insert(AttachmentRow).values(
                id=attachment.id,
                transaction_seq=attachment.voucher_seq,
                sha256=attachment.sha256,
                size=attachment.size,
                kind=attachment.kind,
                filename=attachment.filename,
                note=attachment.note,
                origin=attachment.origin,
                added_by=attachment.added_by,
                added_at=attachment.added_at,
                prev_hash=attachment.prev_hash,
                hash=attachment.hash,
                key_id=attachment.key_id,
            )
        )
        self.session.execute(
            update(ChainHeadRow)
            .where(ChainHeadRow.id == 1)
            .values(attachments_last_id=attachment.id, attachments_last_hash=attachment.hash)
        )

    def has_content(self, sha256: str) -> bool:
        found = self.session.scalar(
            select(AttachmentContentRow.sha256).where(AttachmentContentRow.sha256 == sha256)
        )
        return found is not None

    def content(self, sha256: str) -> bytes | None:
        return self.session.scalar(
            select(AttachmentContentRow.content).where(AttachmentContentRow.sha256 == sha256)
        )

    def get(self, attachment_id: int) -> Attachment | None:
        found = self._load(AttachmentRow.id == attachment_id)
        return found[0] if found else None

    def of_voucher(self, voucher_seq: int) -> list[Attachment]:
        return self._load(AttachmentRow.transaction_seq == voucher_seq)

    def by_origin(self, origin: str) -> list[Attachment]:
        return self._load(AttachmentRow.origin == origin)

    def counts(self, voucher_seqs: Iterable[int]) -> dict[int, int]:
        counted: dict[int, int] = {}
        for chunk in chunks(sorted(set(voucher_seqs))):
            rows = self.session.execute(
                select(AttachmentRow.transaction_seq, func.count())
                .where(AttachmentRow.transaction_seq.in_(chunk))
                .group_by(AttachmentRow.transaction_seq)
            )
            counted.update((seq, n) for seq, n in rows)
        return counted

    def iter_all(self) -> Iterator[Attachment]:
        after = 0
        while chunk := self._load(AttachmentRow.id > after, limit=READ_CHUNK):
            yield from chunk
            after = chunk[-1].id

    def iter_digests(self) -> Iterator[tuple[str, int, str]]:
        after = ""
        while hashes := self.session.scalars(
            select(AttachmentContentRow.sha256)
            .where(AttachmentContentRow.sha256 > after)
            .order_by(AttachmentContentRow.sha256)
            .limit(READ_CHUNK)
        ).all():
            for sha256 in hashes:  # one original in memory at a time (each up to 20 MB)
                content = self.content(sha256) or b""
                yield sha256, len(content), hashlib.sha256(content).hexdigest()
            after = hashes[-1]

    def _load(self, condition: object, limit: int | None = None) -> list[Attachment]:
        query = (
            select(
                AttachmentRow,
                TransactionRow.voucher_year,
                TransactionRow.voucher_month,
                TransactionRow.voucher_number,
            )
            .join(TransactionRow, TransactionRow.seq == AttachmentRow.transaction_seq)
            .where(condition)  # type: ignore[arg-type]
            .order_by(AttachmentRow.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            Attachment(
                row.id,
                row.transaction_seq,
                Voucher(year, month, number),
                row.sha256,
                row.size,
                row.kind,
                row.filename,
                row.note,
                row.origin,
                row.added_by,
                row.added_at,
                row.prev_hash,
                row.hash,
                row.key_id,
            )
            for row, year, month, number in self.session.execute(query)
        ]
