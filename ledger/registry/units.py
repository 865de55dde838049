"""Units (单位): the schools that host studios (挂牌单位) and employ members (所在单位).

A unit is named by people and addressed by its code. The roster names units as the
office writes them (``杭锦旗第一中学（初中部）``); the ledger's accounts for a unit's
money (``source:unit:<code>``, ``source:support:<code>``) carry its code, so any name
the roster accepts works in every later write, as a payee's accounts carry the payee
code and never the name.

Invariants:

- A unit's code never changes once given: accounts are sealed under it.
- Codes and names are each unique; one name is one unit.
- A new unit's code is ``U`` and six digits (:func:`unit_code`), numbered on from the
  last one given, the units first named by one roster in the order of their names.
- A unit's name is what the roster calls it: correcting a name in the roster makes a new
  unit with a new code, and the old one keeps its accounts and what they hold.
- A unit seen before units had codes keeps its name as its code (migration 0024),
  because that is what its sealed accounts already say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

UNIT_CODE_PREFIX: Final = "U"
UNIT_CODE_DIGITS: Final = 6
_NUMBERED: Final = re.compile(rf"{UNIT_CODE_PREFIX}([0-9]{{{UNIT_CODE_DIGITS},}})")


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit: its code (in account addresses) and its name (on every page)."""

    code: str
    name: str


def unit_code(number: int) -> str:
    """The code of the ``number``-th unit given one: ``U000001``."""
    return f"{UNIT_CODE_PREFIX}{number:0{UNIT_CODE_DIGITS}d}"


def code_number(code: str) -> int:
    """The number in a code :func:`unit_code` gave, or 0 for any other code (a unit that
    kept its name as its code)."""
    numbered = _NUMBERED.fullmatch(code)
    return int(numbered.group(1)) if numbered else 0


def new_codes(names: list[str], taken: set[str], last_number: int) -> dict[str, str]:
    """Codes for ``names`` not yet registered, numbered on from ``last_number`` and
    skipping any code ``taken`` (a unit whose kept name looks like a numbered code)."""
    given: dict[str, str] = {}
    number = last_number
    for name in sorted(set(names)):
        number += 1
        while unit_code(number) in taken:
            number += 1
        given[name] = unit_code(number)
    return given
