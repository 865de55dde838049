"""Units by code (issue 37): the ``units`` table, filled with every unit the database
already knows.

A unit's accounts were addressed by its name (``source:unit:<name>``), and those
addresses are sealed into the hash chain, so every unit that can have an account keeps
its name as its code: the names the roster gave as host units (``studios.host_unit``)
and members' units (``people.unit``), and the units named by existing accounts. A name
no address could carry (``杭锦旗第一中学（初中部）``: the roster took it, every receipt for
it was refused) is given a numbered code, ``U000001`` on, as a new unit is from now on.

Then a studio's host unit and a person's unit must name a registered unit (foreign keys).
No transaction, posting, account, hash or balance is read for writing or written: the
chain verifies and every balance is what it was (a test compares them). A downgrade is
refused once an account carries a unit's numbered code.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_UNIT = 100
PLAIN = re.compile(r"[^\W_][\w.\-]*")
"""A name an account address could carry as it was (the address segment's rule then)."""
NUMBERED = re.compile(r"U([0-9]{6,})")
PREFIXES = ("source:unit:", "source:support:")

studios = sa.table("studios", sa.column("host_unit", sa.String()))
people = sa.table("people", sa.column("unit", sa.String()))
accounts = sa.table("accounts", sa.column("address", sa.String()))


def upgrade() -> None:
    units = op.create_table(
        "units",
        sa.Column("code", sa.String(length=MAX_UNIT), nullable=False),
        sa.Column("name", sa.String(length=MAX_UNIT), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_units")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    bind = op.get_bind()
    names = set(bind.scalars(sa.select(studios.c.host_unit).distinct()))
    names |= set(bind.scalars(sa.select(people.c.unit).distinct()))
    for prefix in PREFIXES:
        addresses = bind.scalars(
            sa.select(accounts.c.address).where(accounts.c.address.startswith(prefix))
        )
        names |= {a[len(prefix) :] for a in addresses}
    codes = {name: name for name in names if PLAIN.fullmatch(name)}
    numbers = [int(m.group(1)) for c in codes.values() if (m := NUMBERED.fullmatch(c))]
    number = max(numbers, default=0)
    taken = set(codes.values())
    for name in sorted(names - codes.keys()):
        number += 1
        while f"U{number:06d}" in taken:
            number += 1
        codes[name] = f"U{number:06d}"
    if codes:
        op.bulk_insert(units, [{"code": c, "name": n} for n, c in sorted(codes.items())])
    with op.batch_alter_table("studios") as batch:
        batch.create_foreign_key(
            op.f("fk_studios_host_unit_units"), "units", ["host_unit"], ["name"]
        )
    with op.batch_alter_table("people") as batch:
        batch.create_foreign_key(op.f("fk_people_unit_units"), "units", ["unit"], ["name"])


def downgrade() -> None:
    """Refused once an account is addressed by a unit's numbered code: before this
    revision the code would be read as another unit's name. Units whose codes no account
    uses lose them (an upgrade gives them again)."""
    bind = op.get_bind()
    units = sa.table("units", sa.column("code", sa.String()), sa.column("name", sa.String()))
    coded = set(bind.scalars(sa.select(units.c.code).where(units.c.code != units.c.name)))
    used = sorted(
        a
        for prefix in PREFIXES
        for a in bind.scalars(
            sa.select(accounts.c.address).where(accounts.c.address.startswith(prefix))
        )
        if a[len(prefix) :] in coded
    )
    if used:
        raise RuntimeError(
            f"cannot downgrade below 0024: {len(used)} accounts are addressed by a unit's "
            f"code, not its name ({', '.join(used[:3])})"
        )
    with op.batch_alter_table("people") as batch:
        batch.drop_constraint(op.f("fk_people_unit_units"), type_="foreignkey")
    with op.batch_alter_table("studios") as batch:
        batch.drop_constraint(op.f("fk_studios_host_unit_units"), type_="foreignkey")
    op.drop_table("units")
