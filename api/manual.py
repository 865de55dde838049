"""The manual's build hook (``hooks:`` in mkdocs.yml): the reference pages are written by
the code they describe, at every build, so they cannot drift from it.

A page holding ``<!-- generated: NAME -->`` gets :data:`api.reference.GENERATED`'s
``NAME`` in its place (the command line's page uses mkdocs-click's own directive).
"""

from __future__ import annotations

import re
from typing import Any, Final

from api.reference import GENERATED

_MARKER: Final = re.compile(r"<!-- generated: ([a-z]+) -->")


def on_page_markdown(markdown: str, **_: Any) -> str:
    def made(found: re.Match[str]) -> str:
        name = found[1]
        if name not in GENERATED:
            raise ValueError(f"no generated reference is called {name!r}")
        return GENERATED[name]()

    return _MARKER.sub(made, markdown)


def on_page_content(html: str, **_: Any) -> str:
    # mkdocs-click 0.9 shows click 8.2's "no default" marker as a default, and an empty
    # default as two backticks
    return html.replace("<code>Sentinel.UNSET</code>", "").replace("<td>``</td>", "<td></td>")


_CANONICAL: Final = re.compile(r'\s*<link rel="canonical" href="[^"]*">')


def on_post_page(output: str, **_: Any) -> str:
    # site_url only places the 404 page under /manual/; the office's own address is not
    # known at build time, so no page names a canonical one
    return _CANONICAL.sub("", output)
