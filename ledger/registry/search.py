"""What a 搜索 box on 人员 or 工作室 asks (SPEC §7): one line of text, matched against
each field a person at the desk would type — a name or part of it, the last four of a
身份证号, a studio's code; a studio's code, name or host unit. Any field matching finds
the record; an empty box finds everything, a page at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ledger.errors import inert

MAX_SEARCH: Final = 40
_LAST_FOUR: Final = re.compile(r"\d{3}[\dX]")


@dataclass(frozen=True, slots=True)
class Search:
    """The box's text, trimmed and cut to :data:`MAX_SEARCH` characters."""

    text: str = ""

    @classmethod
    def of(cls, typed: str) -> Search:
        return cls(inert(typed.strip())[:MAX_SEARCH].strip())

    @property
    def last_four(self) -> str | None:
        """The text as the last four characters of a 身份证号 (``9023``, ``102X``)."""
        upper = self.text.upper()
        return upper if _LAST_FOUR.fullmatch(upper) else None

    @property
    def code(self) -> str:
        """The text as a code, compared with codes upper-cased (``hj-s01`` finds
        ``HJ-S01``, on every database)."""
        return self.text.upper()

    def __bool__(self) -> bool:
        return bool(self.text)
