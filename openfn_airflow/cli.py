"""The ``openfn-airflow`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _validate(args: argparse.Namespace) -> int:
    from openfn_airflow.spec import validate_path

    results = validate_path(Path(args.path))
    bad = 0
    for spec_path, problems in results:
        if not problems:
            print(f"{spec_path}: ok")
            continue
        bad += 1
        print(f"{spec_path}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
    return 1 if bad else 0


def _db_migrate(args: argparse.Namespace) -> int:
    from openfn_airflow.store.schema import migrate

    migrate(args.url)
    print("openfn tables are up to date")
    return 0


def _standalone(args: argparse.Namespace) -> int:
    from openfn_airflow import standalone

    return standalone.main(args.rest) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openfn-airflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check project specs and print every problem")
    validate.add_argument("path", help="a project.yaml or a folder holding project specs")
    validate.set_defaults(func=_validate)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    migrate = db_commands.add_parser("migrate", help="create or upgrade the openfn tables")
    migrate.add_argument("--url", help="PostgreSQL URL (default: Airflow's metadata database)")
    migrate.set_defaults(func=_db_migrate)

    standalone = commands.add_parser(
        "standalone", help="run PostgreSQL, Airflow and the example project on this machine"
    )
    standalone.add_argument("rest", nargs=argparse.REMAINDER, help="options for standalone")
    standalone.set_defaults(func=_standalone)
    return parser


def main(argv: list[str] | None = None) -> int:
    from openfn_airflow.store.errors import StoreError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["standalone"]:  # its options belong to standalone's own parser
        from openfn_airflow import standalone

        return int(standalone.main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StoreError as exc:
        print(f"openfn-airflow: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
