#!/usr/bin/env python3
"""Generate a realistic Alembic project with N migrations, for benchmarks.

usage: gen.py OUT [-n N] [--seed S] [--big-lines L] [--force]

Writes:
  OUT/alembic.ini                    script_location = %(here)s/migrations
  OUT/migrations/env.py              a minimal env.py (never run by `alembic heads`)
  OUT/migrations/script.py.mako      Alembic's standard generic template
  OUT/migrations/versions/*.py       N revisions
  OUT/gen.json                       what was generated (head, counts, the big file)

The revisions form one valid graph that real Alembic loads with exactly one head:
mostly a linear history, with side branches forked off the trunk and merged back
(two- and occasionally three-way merges, like `alembic merge heads`), a few of them
carrying a branch label, and a few `depends_on` edges to older revisions.

Bodies look like what autogenerate and people write: the standard template (docstring
header with Revision ID / Revises / Create Date, `revision`, `down_revision`,
`branch_labels`, `depends_on`), create_table with columns and constraints, add_column,
create_index (some concurrently inside an autocommit block), alter_column, batch
operations, data backfills through op.execute SQL, foreign keys, and a matching
downgrade. Some statements carry approval tags, some would get findings.

With --big-lines L the head revision is padded to about L lines of realistic
operations (the "keystroke in a 1,000-line migration" of the LSP benchmark).

Output is a pure function of (N, seed, big-lines): the same arguments give the same
bytes. Standard library only.
"""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys

WORDS = (
    "account user team project invoice payment order item product price customer "
    "address session token audit event report dashboard chart query dataset source "
    "schedule job run task artifact model version tag label comment note alert rule "
    "policy role permission group member workspace folder file upload export import "
    "webhook integration secret key setting preference notification message thread "
    "channel subscription plan coupon refund shipment warehouse stock supplier contract"
).split()

COL_TYPES = [
    ("sa.String(length={n})", "character varying({n})"),
    ("sa.Integer()", "integer"),
    ("sa.BigInteger()", "bigint"),
    ("sa.Boolean()", "boolean"),
    ("sa.DateTime(timezone=True)", "timestamp with time zone"),
    ("sa.Text()", "text"),
    ("sa.Numeric(precision=12, scale=2)", "numeric(12, 2)"),
    ("postgresql.JSONB(astext_type=sa.Text())", "jsonb"),
    ("sa.Date()", "date"),
]

LICENSE = [
    "# Copyright (c) the project authors.",
    "#",
    "# Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use",
    "# this file except in compliance with the License. You may obtain a copy of the",
    "# License at",
    "#",
    "#   http://www.apache.org/licenses/LICENSE-2.0",
    "#",
    "# Unless required by applicable law or agreed to in writing, software distributed",
    "# under the License is distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR",
    "# CONDITIONS OF ANY KIND, either express or implied. See the License for the",
    "# specific language governing permissions and limitations under the License.",
]

MAKO = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
'''

ENV_PY = '''"""Minimal env.py for the generated benchmark project.

`alembic heads` never runs it; `alembic upgrade` would need a database URL.
"""
from alembic import context

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_offline()
'''

INI = """[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
path_separator = os
sqlalchemy.url = postgresql://localhost/bench

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.ids = set()
        self.tables = {}  # name -> list of column names
        self.table_list = []  # names in creation order
        self.counter = 0
        self.desc = self.message = ""
        # like most real projects, a license header on every file (or on none)
        self.license = self.r.random() < 0.5

    # ---- names -----------------------------------------------------------
    def rev_id(self):
        while True:
            rid = "%012x" % self.r.getrandbits(48)
            if rid not in self.ids and not rid.isdigit():
                self.ids.add(rid)
                return rid

    def new_table_name(self):
        a, b = self.r.sample(WORDS, 2)
        name = f"{a}_{b}" if self.r.random() < 0.7 else a + "s"
        k = 2
        while name + ("" if k == 2 else f"_{k - 1}") in self.tables:
            k += 1
        name += "" if k == 2 else f"_{k - 1}"
        self.table_list.append(name)
        return name

    def existing_table(self):
        if not self.tables:
            return None
        # recent tables are touched more often than old ones, like in real histories
        if self.r.random() < 0.6:
            return self.r.choice(self.table_list[-30:])
        return self.r.choice(self.table_list)

    def new_col_name(self, table):
        cols = self.tables[table]
        name = self.r.choice(WORDS) + "_" + self.r.choice(
            ["id", "name", "at", "count", "status", "kind", "ref", "flag", "code", "total"])
        base, k = name, 1
        while name in cols:
            k += 1
            name = f"{base}_{k}"
        return name

    def col_type(self):
        t, _ = self.r.choice(COL_TYPES)
        return t.format(n=self.r.choice([32, 64, 128, 255, 512]))

    # ---- operations (each returns (upgrade_lines, downgrade_lines)) ------
    def op_create_table(self):
        t = self.new_table_name()
        cols = ["id"]
        up = [f"op.create_table(", f"    {t!r},",
              "    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),"]
        for _ in range(self.r.randint(2, 7)):
            self.tables[t] = cols
            c = self.new_col_name(t)
            cols.append(c)
            nullable = "True" if self.r.random() < 0.6 else "False"
            extra = ""
            if nullable == "False" and self.r.random() < 0.5:
                extra = ", server_default=sa.text('now()')" if "at" in c else ""
            up.append(f"    sa.Column({c!r}, {self.col_type()}, nullable={nullable}{extra}),")
        up.append("    sa.Column('created_at', sa.DateTime(timezone=True), "
                  "server_default=sa.text('now()'), nullable=False),")
        cols.append("created_at")
        parent = self.existing_table()
        if parent and self.r.random() < 0.5:
            up.append(f"    sa.Column('{parent}_id', sa.BigInteger(), nullable=True),")
            up.append(f"    sa.ForeignKeyConstraint(['{parent}_id'], ['{parent}.id'], "
                      f"name=op.f('fk_{t}_{parent}_id_{parent}'), ondelete='CASCADE'),")
            cols.append(f"{parent}_id")
        up.append(f"    sa.PrimaryKeyConstraint('id', name=op.f('pk_{t}')),")
        up.append(")")
        self.tables[t] = cols
        idx_col = self.r.choice(cols[1:])
        up.append(f"op.create_index(op.f('ix_{t}_{idx_col}'), {t!r}, [{idx_col!r}], unique=False)")
        self.desc = f"create {t} table"
        down = [f"op.drop_index(op.f('ix_{t}_{idx_col}'), table_name={t!r})",
                f"op.drop_table({t!r})"]
        return up, down

    def op_add_column(self):
        t = self.existing_table()
        c = self.new_col_name(t)
        self.tables[t].append(c)
        ty = self.col_type()
        self.desc = f"add {c} to {t}"
        roll = self.r.random()
        if roll < 0.7:
            up = [f"op.add_column({t!r}, sa.Column({c!r}, {ty}, nullable=True))"]
        elif roll < 0.9:
            up = ["# backfill: ok -- server_default fills existing rows",
                  f"op.add_column({t!r}, sa.Column({c!r}, sa.Integer(), nullable=False, "
                  "server_default='0'))"]
        else:
            up = [f"op.add_column(",
                  f"    {t!r},",
                  f"    sa.Column({c!r}, {ty}, nullable=False),",
                  ")"]
        down = ["# destructive: approved -- downgrade only",
                f"op.drop_column({t!r}, {c!r})"]
        return up, down

    def op_index(self):
        t = self.existing_table()
        c = self.r.choice(self.tables[t])
        name = f"ix_{t}_{c}_{self.counter}"
        self.desc = f"index {t}.{c}"
        if self.r.random() < 0.4:
            up = ["with op.get_context().autocommit_block():",
                  f"    op.create_index({name!r}, {t!r}, [{c!r}], unique=False, "
                  "postgresql_concurrently=True)"]
            down = ["with op.get_context().autocommit_block():",
                    f"    op.drop_index({name!r}, table_name={t!r}, "
                    "postgresql_concurrently=True)"]
        else:
            up = [f"op.create_index({name!r}, {t!r}, [{c!r}], unique=False)"]
            down = [f"op.drop_index({name!r}, table_name={t!r})"]
        return up, down

    def op_alter(self):
        t = self.existing_table()
        c = self.r.choice(self.tables[t])
        self.desc = f"alter {t}.{c}"
        roll = self.r.random()
        if roll < 0.4:
            up = [f"op.alter_column({t!r}, {c!r},",
                  "               existing_type=sa.String(length=64),",
                  "               type_=sa.String(length=255),  # type-change: approved",
                  "               existing_nullable=True)"]
            down = [f"op.alter_column({t!r}, {c!r},",
                    "               existing_type=sa.String(length=255),",
                    "               type_=sa.String(length=64),",
                    "               existing_nullable=True)"]
        elif roll < 0.8:
            up = [f"op.execute(\"UPDATE {t} SET {c} = DEFAULT WHERE {c} IS NULL\")",
                  "# backfill: ok -- rows backfilled just above",
                  f"op.alter_column({t!r}, {c!r}, existing_type=sa.Integer(), nullable=False)"]
            down = [f"op.alter_column({t!r}, {c!r}, existing_type=sa.Integer(), nullable=True)"]
        else:
            up = [f"op.alter_column({t!r}, {c!r}, existing_type=sa.Text(), "
                  "comment='see docs/data-model.md')"]
            down = [f"op.alter_column({t!r}, {c!r}, existing_type=sa.Text(), comment=None)"]
        return up, down

    def op_sql(self):
        t = self.existing_table()
        c = self.r.choice(self.tables[t])
        self.desc = f"backfill {t}.{c}"
        roll = self.r.random()
        if roll < 0.5:
            up = ["op.execute(",
                  "    \"\"\"",
                  f"    UPDATE {t}",
                  f"       SET {c} = NULL",
                  f"     WHERE id IN (SELECT id FROM {t} WHERE created_at < now() - interval '90 days')",
                  "    \"\"\"",
                  ")"]
            down = []
        elif roll < 0.8:
            name = f"ix_{t}_{c}_lower_{self.counter}"
            up = ["with op.get_context().autocommit_block():",
                  f"    op.execute(\"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} \"",
                  f"               \"ON {t} (lower({c}::text))\")"]
            down = ["with op.get_context().autocommit_block():",
                    f"    op.execute(\"DROP INDEX CONCURRENTLY IF EXISTS {name}\")"]
        else:
            up = [f"op.execute(sa.text(\"INSERT INTO {t} ({c}) SELECT {c} FROM {t} "
                  "WHERE false\"))"]
            down = []
        return up, down

    def op_batch(self):
        t = self.existing_table()
        c = self.new_col_name(t)
        self.tables[t].append(c)
        self.desc = f"add {c} to {t}"
        up = [f"with op.batch_alter_table({t!r}, schema=None) as batch_op:",
              f"    batch_op.add_column(sa.Column({c!r}, sa.String(length=64), nullable=True))",
              f"    batch_op.create_index(batch_op.f('ix_{t}_{c}'), [{c!r}], unique=False)"]
        down = [f"with op.batch_alter_table({t!r}, schema=None) as batch_op:",
                f"    batch_op.drop_index(batch_op.f('ix_{t}_{c}'))",
                f"    # destructive: approved",
                f"    batch_op.drop_column({c!r})"]
        return up, down

    def op_fk(self):
        t = self.existing_table()
        p = self.existing_table()
        c = f"{p}_ref_{self.counter}"
        self.tables[t].append(c)
        name = f"fk_{t}_{c}"
        self.desc = f"link {t} to {p}"
        up = [f"op.add_column({t!r}, sa.Column({c!r}, sa.BigInteger(), nullable=True))",
              f"op.create_foreign_key({name!r}, {t!r}, {p!r}, [{c!r}], ['id'], "
              "postgresql_not_valid=True)",
              f"op.execute(\"ALTER TABLE {t} VALIDATE CONSTRAINT {name}\")"]
        down = [f"op.drop_constraint({name!r}, {t!r}, type_='foreignkey')",
                "# destructive: approved",
                f"op.drop_column({t!r}, {c!r})"]
        return up, down

    def body(self, min_ops=1, max_ops=7):
        """Upgrade and downgrade lines of one migration; self.message describes it."""
        ops = []
        descs = []
        n = self.r.randint(min_ops, max_ops)
        for _ in range(n):
            if len(self.tables) < 5 or self.r.random() < (0.18 if len(self.tables) < 40 else 0.05):
                ops.append(self.op_create_table())
                descs.append(self.desc)
                continue
            kind = self.r.choices(
                [self.op_add_column, self.op_index, self.op_alter, self.op_sql,
                 self.op_batch, self.op_fk],
                weights=[30, 15, 15, 12, 10, 8])[0]
            ops.append(kind())
            descs.append(self.desc)
            self.counter += 1
        self.message = descs[0] if len(descs) == 1 else f"{descs[0]} and {len(descs) - 1} more"
        up, down = [], []
        for u, d in ops:
            up.extend(u)
            down[:0] = d  # downgrade undoes in reverse order
        return up, down


def indent(lines):
    return "\n".join(("    " + l) if l else "" for l in lines)


def render(g, rev, down, labels, depends, message, date, up, downs, head_comment=None):
    lines = list(LICENSE) if g.license else []
    lines += [f'"""{message}', "", f"Revision ID: {rev}"]
    if isinstance(down, tuple):
        lines.append(f"Revises: {', '.join(down)}")
    else:
        lines.append(f"Revises: {down or ''}")
    lines += [f"Create Date: {date.isoformat(sep=' ')}", "", '"""']
    lines += ["from typing import Sequence, Union", "", "from alembic import op",
              "import sqlalchemy as sa"]
    if any("postgresql." in l for l in up + downs):
        lines.append("from sqlalchemy.dialects import postgresql")
    lines += ["", "# revision identifiers, used by Alembic.",
              f"revision: str = {rev!r}",
              f"down_revision: Union[str, Sequence[str], None] = {down!r}",
              f"branch_labels: Union[str, Sequence[str], None] = {labels!r}",
              f"depends_on: Union[str, Sequence[str], None] = {depends!r}",
              "", ""]
    if head_comment:
        lines += head_comment
    lines += ["def upgrade() -> None:", '    """Upgrade schema."""']
    lines.append(indent(up) if up else "    pass")
    lines += ["", "", "def downgrade() -> None:", '    """Downgrade schema."""']
    lines.append(indent(downs) if downs else "    pass")
    return "\n".join(lines) + "\n"


def slugify(msg):
    return "".join(ch if ch.isalnum() else "_" for ch in msg.lower())[:40].strip("_")


def generate(out, n, seed, big_lines=0):
    g = Gen(seed)
    r = g.r
    versions = os.path.join(out, "migrations", "versions")
    os.makedirs(versions)
    date = dt.datetime(2019, 1, 7, 9, 30, 0)
    revs = []  # dicts: id, down, labels, depends, branch (for stats)
    trunk = []  # ids on the trunk, for depends_on targets
    stats = {"merges": 0, "three_way_merges": 0, "branch_points": 0, "branch_labels": 0,
             "depends_on": 0}
    label_no = [0]

    def emit(down, labels=None, depends=None, message=None, merge=False, big=False):
        nonlocal date
        rid = g.rev_id()
        date += dt.timedelta(hours=r.randint(1, 30), minutes=r.randint(0, 59),
                             seconds=r.randint(0, 59))
        if merge:
            message = message or "merge heads"
            up, downs = [], []
            if r.random() < 0.3:
                up, downs = g.body(1, 1)
        else:
            up, downs = g.body()
            if message is None:
                message = g.message
        head_comment = None
        if big:
            while len(up) + len(downs) < big_lines:
                u, d = g.body(3, 6)
                up.extend(u)
                downs[:0] = d
        if merge and not up:
            head_comment = ["# empty: allow -- merge revision"]
        text = render(g, rid, down, labels, depends, message, date, up, downs, head_comment)
        fname = f"{date:%Y_%m_%d_%H%M}-{rid}_{slugify(message)}.py"
        with open(os.path.join(versions, fname), "w") as f:
            f.write(text)
        revs.append({"id": rid, "file": fname, "lines": text.count("\n")})
        return rid

    def maybe_depends():
        if len(trunk) > 20 and r.random() < 0.01:
            stats["depends_on"] += 1
            return r.choice(trunk[:-10])
        return None

    head = emit(None, message="initial schema")
    trunk.append(head)
    remaining = n - 1
    while remaining > 0:
        big = big_lines > 0 and remaining == 1
        # a side branch needs at least: 1 side rev + 1 trunk rev + 1 merge
        if remaining >= 6 and r.random() < 0.04:
            ways = 3 if (remaining >= 10 and r.random() < 0.15) else 2
            fork = head
            stats["branch_points"] += 1
            tips = []
            for w in range(ways):
                length = r.randint(1, min(4, (remaining - 1) // ways))
                tip = fork
                for k in range(length):
                    labels = None
                    if k == 0 and w > 0 and r.random() < 0.3:
                        label_no[0] += 1
                        labels = (f"feature_{label_no[0]}",)
                        stats["branch_labels"] += 1
                    tip = emit(tip, labels=labels, depends=maybe_depends())
                    remaining -= 1
                tips.append(tip)
            head = emit(tuple(tips), message="merge heads", merge=True)
            stats["merges"] += 1
            if ways == 3:
                stats["three_way_merges"] += 1
            remaining -= 1
            trunk.append(head)
            continue
        head = emit(head, depends=maybe_depends(), big=big)
        trunk.append(head)
        remaining -= 1

    scripts = os.path.join(out, "migrations")
    with open(os.path.join(scripts, "script.py.mako"), "w") as f:
        f.write(MAKO)
    with open(os.path.join(scripts, "env.py"), "w") as f:
        f.write(ENV_PY)
    with open(os.path.join(out, "alembic.ini"), "w") as f:
        f.write(INI)
    total_bytes = sum(os.path.getsize(os.path.join(versions, x["file"])) for x in revs)
    info = {
        "generator": "bench/gen.py", "n": n, "seed": seed, "big_lines": big_lines,
        "head": head, "base": revs[0]["id"], "revisions": len(revs),
        "bytes": total_bytes, "lines": sum(x["lines"] for x in revs),
        "versions_dir": "migrations/versions",
        "big_file": ("migrations/versions/" + revs[-1]["file"]) if big_lines else None,
        **stats,
    }
    with open(os.path.join(out, "gen.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="output directory (created; must not exist unless --force)")
    ap.add_argument("-n", type=int, default=1000, help="number of migrations (default 1000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--big-lines", type=int, default=0,
                    help="pad the head revision to about this many lines")
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args()
    if a.n < 1:
        ap.error("-n must be at least 1")
    if os.path.exists(a.out):
        if not a.force:
            sys.exit(f"gen.py: {a.out} exists (use --force to replace it)")
        shutil.rmtree(a.out)
    info = generate(a.out, a.n, a.seed, a.big_lines)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
