"""The manual (issue 36): built with ``mkdocs build --strict``, its references complete
against the code, every console 帮助 link landing on a section that exists, served by the
service at /manual/, and README a front page whose two commands are the ones CI runs.
"""

from __future__ import annotations

import dataclasses
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import API, BUILD_THE_MANUAL, TAGS, Settings, create_app
from api.console import common
from api.console.auth import SIGN_IN_HELP
from api.reference import POLICY_NAMES, cli_reference
from ledger.books import chart
from ledger.codes import UserRole
from ledger.messages import FIELDS
from ledger.registry.policy import Policy
from ledger.workbooks.imports import KINDS
from schema.db import connect

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("mkdocs", reason="the manual needs the docs extra: pip install -e '.[docs]'")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manual, built as CI builds it: --strict, so a broken link, a page left out of
    the navigation or a missing screenshot fails here too."""
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _page(site: Path, path: str) -> str:
    return html.unescape((site / path / "index.html").read_text(encoding="utf-8"))


def test_every_command_is_in_the_command_reference(site: Path) -> None:
    page = _page(site, "reference/cli")
    lines = cli_reference().splitlines()[1:-1]
    commands = {re.match(r"(?:[a-z][a-z0-9-]*(?: |$))+", line)[0].strip() for line in lines}  # type: ignore[index]
    assert len(commands) > 60
    missing = [c for c in sorted(commands) if f"{c} [OPTIONS]" not in page]
    assert missing == []
    assert "Sentinel.UNSET" not in page
    assert "``" not in page


def test_every_operation_and_every_body_is_in_the_http_reference(site: Path) -> None:
    page = _page(site, "reference/http")
    engine = connect("sqlite://")
    try:
        app = create_app(Settings("sqlite://", csrf_secret="test only"), engine)  # noqa: S106
        schema = app.openapi_schema.to_schema()
    finally:
        engine.dispose()
    operations = [
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
        if path.startswith(API)
    ]
    assert len(operations) > 50
    assert [op for op in operations if op not in page] == []
    bodies = schema["components"]["schemas"]
    assert [name for name in bodies if f">{name}<" not in page] == []


def test_every_account_of_the_chart_is_in_the_reference(site: Path) -> None:
    page = _page(site, "reference/accounts")
    titles = {*chart.TOP_TITLES, *chart.SUB_TITLES.values()}
    assert len(titles) == len(chart.TOP_TITLES) + 6  # 二级科目: tax, payable, four funds
    for title in titles:
        assert title.code in page, title
        assert title.name in page, title
    assert [address for address in chart.SUB_TITLES if address not in page] == []


def _rows(page: str) -> dict[str, str]:
    """A generated table's rows by their first cell (``<code>`` taken off), as text."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if cells:
            rows[cells[0]] = " | ".join(cells[1:])
    return rows


def test_every_policy_field_is_named_and_shown_with_its_seeded_value(site: Path) -> None:
    rows = _rows(_page(site, "reference/policy"))
    fields = {f.name for f in dataclasses.fields(Policy)}
    assert set(rows) == fields
    assert set(POLICY_NAMES) == fields  # a new field needs its name in the office's words
    assert rows["host_stipend"].endswith("| 1000000")
    assert rows["member_stipend"].endswith("| 500000")
    assert rows["approval_threshold"].startswith("需两位审批人的批次金额（分）")
    assert ":data:" not in _page(site, "reference/policy")


def test_every_import_column_and_every_message_field_is_in_the_reference(site: Path) -> None:
    imports = _page(site, "reference/imports")
    for sheets in KINDS.values():
        for sheet in sheets:
            assert f"工作表“{sheet.title}”" in imports
            for column in sheet.columns:
                assert f"<td>{column.header}</td>" in imports, (sheet.title, column.header)
    messages = _rows(_page(site, "reference/messages"))
    assert messages["period"] == "会计期间"
    assert messages["receipts"] == "收款"
    assert all(messages[code] == name for code, name in FIELDS.items())
    assert messages["ClosedPeriodError"] == "该会计期间已结账 | 409 | Period closed"


def test_every_operation_has_a_tag_named_in_chinese_then_english() -> None:
    tags = dict(TAGS)
    engine = connect("sqlite://")
    try:
        app = create_app(Settings("sqlite://", csrf_secret="test only"), engine)  # noqa: S106
        paths = app.openapi_schema.to_schema()["paths"]
    finally:
        engine.dispose()
    used = {tag for methods in paths.values() for op in methods.values() for tag in op["tags"]}
    assert used <= set(tags)
    for name, words in tags.items():
        chinese, _, english = words.partition(": ")
        assert re.fullmatch(r"[\u4e00-\u9fff]+", chinese), name
        assert english, name


def _targets() -> list[str]:
    """Every 帮助 link the console can show."""
    sections = [t for _, by_role in common.HELP for t in by_role.values()]
    return [SIGN_IN_HELP, *(common.MANUAL_HOME + t for t in [*sections, *common.CHAPTERS.values()])]


@pytest.mark.parametrize("target", _targets())
def test_every_help_link_of_the_console_lands_on_its_section(site: Path, target: str) -> None:
    path, _, anchor = target.removeprefix(common.MANUAL_HOME.rstrip("/")).partition("#")
    page = _page(site, path.strip("/"))
    if anchor:
        assert f'id="{anchor}"' in page, f"{target}: no section #{anchor}"


def test_each_role_reads_its_own_chapter_from_the_console() -> None:
    for role in UserRole:
        assert common.help_for("/console", role).endswith(f"guide/{role.value}/")
    assert common.help_for("/console/batches/7", "cashier").endswith("guide/cashier/#pay")
    assert common.help_for("/console/batches/7", "approver").endswith("guide/approver/#approve")
    assert common.help_for("/console/tax", "auditor").endswith("guide/cashier/#tax")
    assert common.help_for("/console/periods", "approver").endswith("guide/approver/#periods")
    assert common.help_for("/console/periods", "admin").endswith("guide/admin/#periods")


def test_the_service_serves_the_built_manual_or_says_how_to_build_it(
    site: Path, tmp_path: Path
) -> None:
    for where, built in ((site, True), (tmp_path / "nothing", False), (None, False)):
        engine = connect("sqlite://")
        try:
            app = create_app(Settings("sqlite://", csrf_secret="t", manual=where), engine)  # noqa: S106
            with TestClient(app) as client:
                home = client.get("/manual/")
                chapter = client.get("/manual/guide/cashier/")
        finally:
            engine.dispose()
        if built:
            assert home.status_code == chapter.status_code == 200
            assert "快速开始" in home.text
            assert 'id="tax"' in chapter.text
            assert "unsafe-inline" in home.headers["content-security-policy"]
            assert "https://" not in home.headers["content-security-policy"]
            assert "set-cookie" not in home.headers  # no console session, no CSRF cookie
        else:
            assert home.status_code == chapter.status_code == 404
            assert "使用手册尚未生成" in home.text
            assert html.unescape(BUILD_THE_MANUAL) in html.unescape(home.text)


def test_the_manual_is_a_folder_of_its_own_with_its_own_policy(site: Path) -> None:
    engine = connect("sqlite://")
    try:
        app = create_app(Settings("sqlite://", csrf_secret="t", manual=site), engine)  # noqa: S106
        with TestClient(app) as client:
            for bare in ("/manual", "/manual/guide/clerk"):  # its pages link from a folder
                moved = client.get(bare + "?x=1", follow_redirects=False)
                assert moved.status_code == 301
                assert moved.headers["location"] == bare + "/?x=1"
            assert client.get("/manual/assets", follow_redirects=False).status_code == 301
            assert client.get("/manual/404.html").status_code == 200
            for outside in ("/manual/../pyproject.toml", "/manual/%2e%2e/pyproject.toml"):
                refused = client.get(outside)
                assert refused.status_code == 404
                assert "[project]" not in refused.text
            for strict in ("/", "/manualx", "/console"):
                policy = client.get(strict).headers["content-security-policy"]
                assert "unsafe-inline" not in policy, strict
    finally:
        engine.dispose()


def test_the_manual_loads_nothing_from_outside(site: Path) -> None:
    """No web font, no CDN: every page's scripts, styles, fonts and images are the site's
    own; a link a reader follows may go out, nothing a page loads by itself does."""
    loads = re.compile(r'<(?!a\b)[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"')
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not loads.search(text), (page, loads.search(text))
    for asset in [*site.rglob("*.css"), *site.rglob("*.js")]:
        text = asset.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"@import\s+url\(\s*['\"]?https?:|url\(\s*['\"]?https?://", text), (
            asset
        )


def test_readme_is_a_front_page_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(readme) < 200
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    patterns = re.findall(r"readme_command '([^']+)'", ci)
    assert len(patterns) == 2
    for pattern in patterns:
        found = [n for n, line in enumerate(readme) if re.match(pattern, line)]
        assert found, pattern
        assert found[0] < 40, pattern
    commands = [readme[n] for p in patterns for n, line in enumerate(readme) if re.match(p, line)]
    assert commands[0].endswith(".venv/bin/studio-ledger demo")
    assert commands[1].endswith(".venv/bin/pytest")
