"""Mutation testing of the money rules: ``python -m tests.mutation``.

Runs mutmut (configured in ``pyproject.toml``: the modules that decide money, against the
fast unit tests) and fails when a mutant survives that ``equivalent.toml`` does not
explain, printing its diff. A mutant on that list is one that changes nothing a caller
can see — each entry names the function, the line as it was and as the mutant has it,
and why it changes nothing. A mutant that changes behaviour never goes on the list: it
gets the test that kills it.

``python -m tests.mutation --no-run`` checks the results of the last run only.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REVIEWED: Final = Path(__file__).with_name("equivalent.toml")
MUTMUT: Final = str(Path(sys.executable).with_name("mutmut"))
SURVIVING: Final = frozenset({"survived", "no tests", "not checked", "suspicious", "skipped"})
"""What mutmut calls a mutant no test failed on (a timeout is a mutant caught: a test
ran into the loop it made)."""


@dataclass(frozen=True, slots=True)
class Change:
    """A mutant as a reviewer reads it: in which function, which line became which."""

    function: str
    was: str
    now: str

    def __str__(self) -> str:
        return f"{self.function}: {self.was!r} → {self.now!r}"


def run() -> None:
    subprocess.run(
        [MUTMUT, "run", "--max-children", "2"],
        check=True,
        stdout=subprocess.DEVNULL,  # a progress bar redrawn per mutant
    )


def results() -> dict[str, str]:
    """Every mutant not killed, with its status."""
    listed = subprocess.run([MUTMUT, "results"], check=True, capture_output=True, text=True).stdout
    found = {}
    for line in listed.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status
    return found


def diff(name: str) -> str:
    return subprocess.run([MUTMUT, "show", name], check=True, capture_output=True, text=True).stdout


def change(name: str, shown: str) -> Change:
    """The mutant's function and its one changed line (joined, if the change spans
    several), whitespace-trimmed."""
    function = re.sub(r"__mutmut_\d+$", "", name)
    lines = shown.splitlines()
    was = " ".join(x[1:].strip() for x in lines if x.startswith("-") and not x.startswith("---"))
    now = " ".join(x[1:].strip() for x in lines if x.startswith("+") and not x.startswith("+++"))
    return Change(function, was, now)


def reviewed() -> dict[Change, str]:
    entries = tomllib.loads(REVIEWED.read_text(encoding="utf-8")).get("equivalent", [])
    return {Change(e["function"], e["was"], e["now"]): e["why"] for e in entries}


def main(argv: list[str]) -> int:
    if "--no-run" not in argv:
        run()
    explained = reviewed()
    unexplained, seen = [], set()
    for name, status in sorted(results().items()):
        if status not in SURVIVING:
            continue
        shown = diff(name)
        found = change(name, shown)
        if found in explained and status == "survived":
            seen.add(found)
            continue
        unexplained.append(f"{name} ({status}): {found}\n{shown}")
    for stale in sorted(set(explained) - seen, key=str):
        print(f"reviewed but no longer surviving (remove it from {REVIEWED.name}): {stale}")
    if unexplained:
        print(f"{len(unexplained)} mutant(s) survived that no test kills and no review explains:")
        print("\n".join(unexplained))
        return 1
    print(f"mutation testing: every surviving mutant is reviewed ({len(seen)} equivalent changes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
