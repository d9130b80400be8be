"""Sink-related subcommands: ``echoarb db migrate`` and ``echoarb top``.

Kept out of ``echoarb/cli.py`` so the sink's commands live next to the code they drive.
Both open ClickHouse like the sink does (embedded chdb under DATA_DIR, or CLICKHOUSE_URL).
The embedded engine's data dir can be opened by one process only: while ``echoarb sink`` or
``echoarb replay`` runs on it these commands fail with a message naming that process.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from echoarb.settings import Settings


def _open(args: argparse.Namespace) -> tuple[Settings, Client]:
    from echoarb.cli.common import CliError, settings_from_args
    from echoarb.sink.client import SinkError, connect

    settings = settings_from_args(args)
    try:
        return settings, connect(settings)
    except SinkError as exc:
        raise CliError(str(exc)) from None


def cmd_db_migrate(args: argparse.Namespace) -> int:
    from echoarb.cli.common import CliError
    from echoarb.sink.migrate import MigrationError, applied_versions, load_migrations, migrate

    settings, client = _open(args)
    database = client.database or settings.clickhouse_database
    try:
        applied = migrate(client, database)
        current = max(applied_versions(client, database), default=0)
    except MigrationError as exc:
        raise CliError(str(exc)) from None
    finally:
        client.close()
    names = {m.version: m.name for m in load_migrations()}
    for version in applied:
        print(f"  applied {version:04d}_{names[version]}")
    print(f"database {database}: schema version {current:04d} ({len(applied)} migrations applied now)")
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    from echoarb.sink.migrate import migrate
    from echoarb.sink.top import best_opportunities, render

    settings, client = _open(args)
    resolutions = _resolutions(settings)
    database = client.database or settings.clickhouse_database
    try:
        migrate(client, database)  # an empty or old database answers too
        rows = best_opportunities(
            client,
            database,
            minutes=args.minutes,
            limit=args.limit,
            executable_only=not args.all,
            resolutions=resolutions,
            sort=args.sort,
        )
    finally:
        client.close()
    if not rows:
        print(f"no {'' if args.all else 'executable '}opportunities in the last {args.minutes} min of data")
        return 0
    kind = "opportunities" if args.all else "executable opportunities"
    order = "by annualised return" if args.sort == "annualised" else "by net profit"
    print(f"best {kind} per pair and direction, last {args.minutes} min of stored events, {order}:")
    if args.sort == "annualised" and not any(o.annualised_return is not None for o in rows):
        print(
            "(no expected resolution times: run `echoarb discover` to list the venues; "
            "days and annualised return come from its cache in DATA_DIR/discover)",
            file=sys.stderr,
        )
    print(render(rows))
    sys.stdout.flush()
    return 0


def _resolutions(settings: Settings) -> dict[str, int]:
    """Pair id -> expected resolution from the discovery listing cache, as ``echoarb serve`` reads it.

    ``top`` needs no pairs file otherwise, so an unreadable one costs the two capital columns
    (with a note), not the table.
    """
    from echoarb.discover.resolution import load_expected_resolutions
    from echoarb.pairs import PairsConfigError, load_pairs

    try:
        pairs = load_pairs(settings.pairs_file)
    except PairsConfigError as exc:
        print(f"echoarb: no resolution times ({exc})", file=sys.stderr)
        return {}
    return load_expected_resolutions(pairs, settings.data_dir)


def add_sink_commands(sub: Any) -> None:
    """Register ``db`` and ``top`` on the main parser's subparsers."""
    from echoarb.cli.common import described, positive_int

    p = sub.add_parser("db", help="ClickHouse schema: `echoarb db migrate`")
    db_sub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    m = db_sub.add_parser(
        "migrate",
        help="apply pending schema migrations (the sink also does this at start)",
        **described(
            "Create the database if needed and apply the versioned migrations it lacks "
            "(echoarb/sink/migrations); applied versions are recorded in its schema_migrations table. "
            "ClickHouse is CLICKHOUSE_URL, else embedded in DATA_DIR/clickhouse (which only one "
            "process can open at a time).",
            [
                "echoarb db migrate",
                "CLICKHOUSE_URL=http://default:pw@clickhouse:8123/echoarb echoarb db migrate",
            ],
        ),
    )
    m.set_defaults(func=cmd_db_migrate)

    p = sub.add_parser(
        "top",
        help="print the best recent opportunities stored in ClickHouse",
        **described(
            "Best opportunity per pair and direction over the last N minutes of stored spread events "
            "(counted back from the newest event), executable ones only unless --all, with the days to "
            "the pair's expected resolution and the annualised return where the `echoarb discover` "
            "listing cache knows the pair. With embedded "
            "ClickHouse this opens DATA_DIR, which fails while another EchoArb process (sink, replay) "
            "holds it: stop it first, or point CLICKHOUSE_URL at a server.",
            [
                "echoarb top                       # after `make demo` or a stopped `echoarb up`",
                "echoarb top --minutes 15 --all --limit 50",
                "echoarb top --sort annualised     # days and returns from the `echoarb discover` cache",
            ],
        ),
    )
    p.add_argument(
        "--minutes", type=positive_int, default=60, help="look-back from the newest event (default 60)"
    )
    p.add_argument("--limit", type=positive_int, default=20, help="rows to print (default 20)")
    p.add_argument("--all", action="store_true", help="include non-executable opportunities")
    p.add_argument(
        "--sort",
        choices=("profit", "annualised"),
        default="profit",
        help="rank by net profit (default) or by annualised return to the pair's expected resolution "
        "(from the `echoarb discover` listing cache; pairs it does not know go last)",
    )
    p.set_defaults(func=cmd_top)
