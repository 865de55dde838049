"""Originals (原始凭证) attached to vouchers (issue 32): known by their content, kept once
by their SHA-256, sealed in their own chain, re-hashed by ``verify``; the files the
ledger makes and receives attached by themselves; the vouchers printed with 附单据 and the
names of those who made, checked, recorded and paid them."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from api.cli import main
from ledger.batches import disbursement
from ledger.books import attachments, book, vouchers
from ledger.books.attachments import MAX_BYTES, accepted_type, file_type
from ledger.books.periods import Period
from ledger.books.postings import NewTransaction, Posting
from ledger.errors import NotFoundError, PermissionDeniedError, ValidationError
from ledger.workbooks import bank_results, payout_files
from ledger.workbooks.vouchers import export_vouchers
from schema.db import UnitOfWork
from tests.integration.test_bank_results import answered
from tests.integration.test_batches import ON, create, run, stored
from tests.integration.test_batches import year as year  # noqa: PLC0414 (the fixture)

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buffer.getvalue()


XLSX = _zip("[Content_Types].xml", "xl/workbook.xml")
OFD = _zip("OFD.xml", "Doc_0/Document.xml")


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PDF, "PDF"),
        (PNG, "PNG"),
        (JPEG, "JPEG"),
        (XLSX, "xlsx"),
        (OFD, "OFD"),
        (EXE, "Windows 可执行文件（EXE/DLL）"),
        (b"\x7fELF\x02\x01", "ELF 可执行文件"),
        (_zip("word/document.xml"), "Word 文档（docx）"),
        (_zip("a.txt"), "ZIP 压缩包"),
        (b"PK\x03\x04broken", "损坏的 ZIP 压缩包"),
        (b"GIF89a", "GIF 图片"),
        ("姓名,金额\n张三,1\n".encode(), "文本文件"),
        ("姓名,金额\n张三,1\n".encode("gb18030"), "文本文件"),
        (("张" * 1366).encode(), "文本文件"),  # 4,098 bytes: the first 4,096 cut a character
        (b"a,b\x00c", "无法识别的文件"),
        (b"\x00\x01\x02\xff\xfe", "无法识别的文件"),
        (b"", "空文件"),
    ],
)
def test_a_file_is_known_by_its_content(content: bytes, kind: str) -> None:
    assert file_type(content) == kind


def test_a_program_renamed_pdf_is_refused_naming_what_it_is() -> None:
    with pytest.raises(ValidationError, match=r"发票\.pdf 的内容是Windows 可执行文件") as refused:
        accepted_type(EXE, "发票.pdf")
    assert refused.value.field == "文件"
    with pytest.raises(ValidationError, match="只接受 PDF、OFD、JPEG、PNG、xlsx"):
        accepted_type(b"a,b\n", "回单.pdf")  # a CSV only the ledger attaches


def test_a_file_over_the_limit_is_refused_one_byte_under_it_is_not() -> None:
    assert accepted_type(PDF + b"\x00" * (MAX_BYTES - len(PDF)), "大.pdf") == "PDF"
    with pytest.raises(ValidationError, match=r"超过原始凭证上限 20 MB"):
        accepted_type(PDF + b"\x00" * (MAX_BYTES - len(PDF) + 1), "大.pdf")


def _post(engine: Engine, key: str, on: date, by: str = "clerk") -> str:
    def post(uow: UnitOfWork) -> str:
        [t] = book.post(
            uow.ledger,
            [
                NewTransaction(
                    key,
                    on,
                    "资料费",
                    (
                        Posting(
                            "studio:HJ-S01:fund:finance", "expense:materials:studio:HJ-S01", 1_000
                        ),
                    ),
                )
            ],
            by=by,
        )
        return str(t.voucher)

    return str(run(engine, post))


def test_an_original_is_kept_once_sealed_and_read_back_whole(year: Engine) -> None:
    first = _post(year, "a", date(2024, 3, 5))
    second = _post(year, "b", date(2024, 3, 6))
    added = run(
        year,
        lambda uow: attachments.attach(uow, first, "发票.pdf", PDF, by="clerk", note="No.1"),
    )
    again = run(
        year, lambda uow: attachments.attach(uow, second, "C:\\扫描\\发票.pdf", PDF, by="boss1")
    )
    png = run(year, lambda uow: attachments.attach(uow, second, "回单.png", PNG, by="cashier1"))
    assert (added.id, again.id, png.id) == (1, 2, 3)
    assert (added.sha256, added.size, added.kind) == (
        hashlib.sha256(PDF).hexdigest(),
        len(PDF),
        "PDF",
    )
    assert (again.filename, again.prev_hash, png.prev_hash) == ("发票.pdf", added.hash, again.hash)
    with UnitOfWork(year, write=False) as uow:
        kept = uow.session.execute(text("SELECT COUNT(*) FROM attachment_contents")).scalar()
        assert kept == 2  # the same bytes on two vouchers are kept once
        assert [a.filename for a in attachments.of_voucher(uow, second)] == ["发票.pdf", "回单.png"]
        assert attachments.original(uow, 3, by="audit") == (png, PNG)
        assert vouchers.voucher(uow, second).attachments == 2
        assert attachments.verified(uow).ok
        with pytest.raises(NotFoundError, match="附件 9 不存在"):
            attachments.original(uow, 9, by="audit")
        with pytest.raises(NotFoundError, match="凭证记-2024-03-0009不存在"):
            attachments.attach(uow, "记-2024-03-0009", "a.pdf", PDF, by="clerk")
        with pytest.raises(PermissionDeniedError, match=r"attachment\.add"):
            attachments.attach(uow, first, "a.pdf", PDF, by="audit")
        with pytest.raises(ValidationError, match=r"隐藏字符|不可见"):
            attachments.attach(uow, first, "发\u202e票.pdf", PDF, by="clerk")
        with pytest.raises(
            ValidationError, match=r"与附件#1（发票\.pdf）内容相同，已附于记-2024-03-0001"
        ):
            attachments.attach(uow, first, "又一张.pdf", PDF, by="clerk")


def test_an_original_is_append_only_and_verify_names_a_changed_byte(year: Engine) -> None:
    number = _post(year, "a", date(2024, 3, 5))
    run(year, lambda uow: attachments.attach(uow, number, "发票.pdf", PDF, by="clerk"))
    run(year, lambda uow: attachments.attach(uow, number, "回单.png", PNG, by="clerk"))
    for statement in (
        "UPDATE attachment_contents SET size = 1",
        "DELETE FROM attachments",
        "UPDATE attachments SET note = 'x'",
    ):
        with pytest.raises(Exception, match="append-only"), year.begin() as connection:
            connection.execute(text(statement))
    _switch_off_guards(year)
    changed = PDF.replace(b"1.7", b"1.6")
    with year.begin() as connection:
        connection.execute(
            text("UPDATE attachment_contents SET content = :c WHERE sha256 = :s"),
            {"c": changed, "s": hashlib.sha256(PDF).hexdigest()},
        )
    with UnitOfWork(year, write=False) as uow:
        report = attachments.verified(uow)
    assert not report.ok
    [line] = [p for p in report.problems() if p.startswith("ATT:")]
    assert line.startswith(
        f"ATT: 附件#1（{number} 发票.pdf）的内容已被改动：现有内容的 SHA-256 为 "
    )
    assert hashlib.sha256(changed).hexdigest()[:16] in line
    with year.begin() as connection:  # a record rewritten no longer matches its seal
        connection.execute(text("UPDATE attachments SET filename = '收据.png' WHERE id = 2"))
    with UnitOfWork(year, write=False) as uow:
        problems = attachments.verified(uow).attachment_problems
    assert f"附件#2（{number} 收据.png）的登记内容与封印不符，已被改写" in problems[0]
    result = CliRunner().invoke(main, ["--db", year.url.render_as_string(False), "verify"])
    assert result.exit_code == 1
    assert "ATT: 附件#2" in result.output


def test_originals_removed_from_the_end_of_their_chain_are_missed(year: Engine) -> None:
    number = _post(year, "a", date(2024, 3, 5))
    run(year, lambda uow: attachments.attach(uow, number, "发票.pdf", PDF, by="clerk"))
    last = run(year, lambda uow: attachments.attach(uow, number, "回单.png", PNG, by="clerk"))
    with UnitOfWork(year, write=False) as uow:
        assert uow.attachments.last() == (2, last.hash)
    _switch_off_guards(year)
    with year.begin() as connection:
        connection.execute(text("DELETE FROM attachments WHERE id = 2"))
    with UnitOfWork(year, write=False) as uow:
        [problem] = attachments.verified(uow).attachment_problems
    assert problem.startswith(f"附件链头记为附件#2 {last.hash[:12]}…，附件链止于附件#1 ")


def _switch_off_guards(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in ("attachments", "attachment_contents"):
            if engine.dialect.name == "sqlite":
                for action in ("update", "delete"):
                    connection.execute(text(f"DROP TRIGGER {table}_no_{action}"))
            else:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def test_the_files_of_a_batch_go_with_its_vouchers_once_each(year: Engine, tmp_path: Path) -> None:
    """The 发放表 and the bank file go with the approval voucher the first time they are
    taken after approval; the bank file and the bank's answer with the payment voucher;
    附单据 counts them; a file exchanged with the bank is for the 出纳 alone."""
    batch = create(year).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year) as uow:  # an auditor reading the files attaches nothing
        payout_files.export(uow, batch.id, "audit", tmp_path / "b")
        assert uow.attachments.last() == (0, "0" * 64)
    roster_only = (attachments.ROSTER,)  # a download hands out one file: only it is kept
    run(
        year,
        lambda uow: payout_files.export(
            uow, batch.id, "cashier1", tmp_path / "r", handed=roster_only
        ),
    )
    with UnitOfWork(year, write=False) as uow:
        assert uow.attachments.last()[0] == 1
    sent = run(year, lambda uow: payout_files.export(uow, batch.id, "cashier1", tmp_path / "a"))
    run(year, lambda uow: payout_files.export(uow, batch.id, "cashier1", tmp_path / "c"))
    result = answered(sent.files[1], tmp_path / "银行结果.xlsx", {3: "户名不符"})
    run(year, lambda uow: bank_results.answer(uow, batch.id, result, "cashier1", ON))
    paid = stored(year, batch.id)
    approval = {x.approval_seq for x in paid.lines} - {None}
    payment = {x.payment_seq for x in paid.lines} - {None}
    assert len(approval) == len(payment) == 1
    with UnitOfWork(year, write=False) as uow:
        approval_voucher = uow.ledger.get(approval.pop())
        payment_voucher = uow.ledger.get(payment.pop())
        assert approval_voucher is not None
        assert payment_voucher is not None
        first = uow.attachments.of_voucher(approval_voucher.seq)
        then = uow.attachments.of_voucher(payment_voucher.seq)
        assert [(a.filename, a.origin, a.added_by) for a in first] == [
            (f"batch-{batch.id}-发放表.xlsx", f"batch:{batch.id}:roster", "cashier1"),
            (f"batch-{batch.id}-批量代发.xlsx", f"batch:{batch.id}:bank_file", "cashier1"),
        ]
        assert first[1].sha256 == hashlib.sha256(sent.files[1].read_bytes()).hexdigest()
        roster = (tmp_path / "r" / first[0].filename).read_bytes()
        assert first[0].sha256 == hashlib.sha256(roster).hexdigest()
        assert (
            first[0].sha256
            == hashlib.sha256((tmp_path / "r" / first[0].filename).read_bytes()).hexdigest()
        )
        assert [(a.filename, a.sha256) for a in then] == [
            (first[1].filename, first[1].sha256),  # the very bytes sent
            ("银行结果.xlsx", hashlib.sha256(result.read_bytes()).hexdigest()),
        ]
        shown = vouchers.voucher(uow, str(payment_voucher.voucher))
        assert shown.attachments == 2
        assert shown.signers == vouchers.Signers("clerk", ("boss1",), "", "cashier1")
        approved = vouchers.voucher(uow, str(approval_voucher.voucher))
        assert approved.signers == vouchers.Signers("clerk", ("boss1",), "", "")
        assert attachments.original(uow, first[0].id, by="audit")[1] == roster
        with pytest.raises(PermissionDeniedError, match=r"batch\.bank_file"):
            attachments.original(uow, first[1].id, by="audit")
        assert attachments.original(uow, then[1].id, by="cashier1")[1] == result.read_bytes()
        assert attachments.verified(uow).ok


def test_a_month_of_vouchers_prints_on_a5_with_its_originals_counted(
    year: Engine, tmp_path: Path
) -> None:
    """Every page of a printed voucher: 记账凭证, 核算单位, 日期, 凭证号, six ruled lines, 过次页
    or 合计 in figures and 大写, 附单据, 制单 … 出纳; never an account address."""
    number = _post(year, "a", date(2024, 3, 5))
    run(year, lambda uow: attachments.attach(uow, number, "发票.pdf", PDF, by="clerk"))
    out = tmp_path / "v.xlsx"
    with UnitOfWork(year, write=False) as uow:
        written = export_vouchers(vouchers.month_views(uow, Period(2024, 3)), out)
    assert written == 1
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "记 账 凭 证"
    assert rows[1][0] == "核算单位：杭锦旗名师工作室领导小组办公室"
    assert rows[1][3] == f"日期：2024年03月05日　凭证号：{number}"
    assert rows[2] == ["摘要", "科目编码", "科目名称", "辅助核算", "借方金额", "贷方金额"]
    assert rows[3] == [
        "资料费",
        "271101",
        "专项资金—财政拨款",
        "工作室：HJ-S01 语文名师工作室",
        10,
        None,
    ]
    assert rows[4] == [
        "资料费",
        "1002",
        "银行存款",
        "收支项目：已支付活动经费—资料费（HJ-S01）",
        None,
        10,
    ]
    assert all(r == [None] * 6 for r in rows[5:9])  # the form's six lines, four unused
    assert rows[9][0] == "合计：人民币壹拾元整"
    assert rows[9][4:] == [10, 10]
    assert rows[10][0] == "附单据 1 张"
    assert (rows[11][0], rows[11][3]) == ("制单：clerk", "记账：clerk")
    assert (sheet.page_setup.paperSize, sheet.page_setup.orientation) == (11, "landscape")
    assert not any(
        isinstance(v, str) and ("studio:" in v or "expense:" in v) for r in rows for v in r
    )
