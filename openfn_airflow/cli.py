"""The ``openfn-airflow`` command.

Beside ``make run`` it uses the settings standalone wrote to the checkout's ``.airflow`` (or
``$AIRFLOW_HOME``); variables set in your environment win.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
The openfn-airflow command.

Beside `make run` it uses the settings standalone wrote to the checkout's .airflow
(or $AIRFLOW_HOME); variables set in your environment win."""


def _validate(args: argparse.Namespace) -> int:
    from openfn_airflow.spec import check_path

    bad = 0
    for check in check_path(Path(args.path)):
        if check.problems:
            bad += 1
            print(f"{check.path}: {len(check.problems)} problem(s)")
        else:
            print(f"{check.path}: ok")
        for problem in check.problems:
            print(f"  - {problem}")
        for note in check.notes:  # worth knowing, not wrong: they do not fail the check
            print(f"  note: {note}")
    return 1 if bad else 0


def _db_migrate(args: argparse.Namespace) -> int:
    from openfn_airflow.store.schema import migrate

    migrate(args.url)
    print("openfn tables are up to date")
    return 0


def _synced_project(conn, name: str) -> dict:
    """Sync the registry from the DAGs folder, then return the project or raise StoreError."""
    from openfn_airflow.bundles.folders import spec_folders
    from openfn_airflow.inbox import settings
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.errors import StoreError
    from openfn_airflow.store.projects import get_project

    folder = settings.dags_folder()
    names = sync_projects(conn, spec_folders(folder).folders, prune=False)
    conn.commit()
    project = get_project(conn, name)
    if project is None:
        known = ", ".join(names) or "none"
        raise StoreError(f"no project named {name!r} under {folder} (projects there: {known})")
    return project


def _inbox_url(args: argparse.Namespace) -> int:
    from openfn_airflow.inbox import settings
    from openfn_airflow.store.database import connect

    with connect() as conn:
        project = _synced_project(conn, args.project)
    print(settings.inbox_url(project["inbox_id"]))
    return 0


_INBOX_STATES = {
    "open": "the inbox is open: anyone with its URL can send",
    "protected": "the inbox takes requests that carry an active method",
    "closed": "the inbox is closed: it refuses every request (its methods were revoked); "
    "add a method, or open it to anyone with `openfn-airflow auth open {project}`",
}


def _inbox_state(conn, project: str) -> str:
    from openfn_airflow.store.auth_methods import inbox_state

    return _INBOX_STATES[inbox_state(conn, project) or "open"].format(project=project)


def _auth_list(args: argparse.Namespace) -> int:
    from openfn_airflow.store.auth_methods import list_auth_methods
    from openfn_airflow.store.database import connect

    with connect() as conn:
        _synced_project(conn, args.project)
        methods = list_auth_methods(conn, args.project)
        state = _inbox_state(conn, args.project)
    print(f"{args.project}: {state}")
    if not methods:
        return 0
    print(f"{'ID':>6}  {'KIND':8} {'USER':16} {'SECRET':10} {'CREATED':20} {'LAST USED':20} STATE")
    for method in methods:
        state = "revoked" if method["revoked_at"] else "active"
        used = (
            method["last_used_at"].strftime("%Y-%m-%d %H:%M:%S")
            if method["last_used_at"]
            else "never"
        )
        print(
            f"{method['id']:>6}  {method['kind']:8} {method['username'] or '-':16} "
            f"{_hint(method):10} {method['created_at']:%Y-%m-%d %H:%M:%S}  "
            f"{used:20} {state}"
        )
    return 0


def _hint(method: dict) -> str:
    # Basic auth shows no part of its password: the user name tells those apart.
    return "..." + method["secret_hint"] if method["secret_hint"] else "-"


def _auth_add(args: argparse.Namespace) -> int:
    from openfn_airflow.inbox import auth_methods
    from openfn_airflow.store.database import connect

    with connect() as conn:
        _synced_project(conn, args.project)
        if args.auth_command == "add-key":
            method, secret = auth_methods.add_api_key(conn, args.project)
            how = "send it as the x-api-key header"
        elif args.auth_command == "add-basic":
            try:
                method, secret = auth_methods.add_basic(conn, args.project, args.user)
            except ValueError as exc:
                print(f"openfn-airflow: {exc}", file=sys.stderr)
                return 1
            how = f"the password of user {args.user} (Authorization: Basic)"
        else:
            method, secret = auth_methods.add_webhook(conn, args.project)
            how = "the Standard Webhooks signing secret"
        conn.commit()
    print(secret)
    print(
        f"auth method {method['id']} added to {args.project}: {how}. It is shown only this once.",
        file=sys.stderr,
    )
    return 0


def _auth_revoke(args: argparse.Namespace) -> int:
    from openfn_airflow.store.auth_methods import revoke_auth_method
    from openfn_airflow.store.database import connect

    with connect() as conn:
        _synced_project(conn, args.project)
        revoked = revoke_auth_method(conn, args.project, args.method_id)
        conn.commit()
        state = _inbox_state(conn, args.project)
    if not revoked:
        print(
            f"openfn-airflow: {args.project} has no active auth method {args.method_id} "
            "(see `openfn-airflow auth list`)",
            file=sys.stderr,
        )
        return 1
    print(f"auth method {args.method_id} of {args.project} revoked; {state}")
    return 0


def _auth_open(args: argparse.Namespace) -> int:
    from openfn_airflow.store.auth_methods import open_inbox
    from openfn_airflow.store.database import connect

    with connect() as conn:
        _synced_project(conn, args.project)
        opened = open_inbox(conn, args.project)
        conn.commit()
    if not opened:
        print(
            f"openfn-airflow: the inbox of {args.project} has active auth methods, which would "
            "still be checked: revoke them first (see `openfn-airflow auth list`)",
            file=sys.stderr,
        )
        return 1
    print(f"{args.project}: the inbox is open: anyone with its URL can send")
    return 0


def _adaptors_repository() -> Path:
    """The configured adaptors repository, set as the catalog specs are checked against."""
    from openfn_airflow.dags.settings import adaptors_path
    from openfn_airflow.spec.adaptors import RepositoryCatalog, set_default_catalog

    repo = Path(adaptors_path())
    set_default_catalog(RepositoryCatalog(repo))
    return repo


def _projects_to_install(args: argparse.Namespace) -> list | None:
    """The projects named by ``args.project`` (a name or a path), or all of the DAGs folder."""
    from openfn_airflow.inbox import settings
    from openfn_airflow.spec import SpecError, find_projects, load_project_lenient

    given = args.project
    if given and Path(given).exists():
        specs = find_projects(given) if Path(given).is_dir() else [Path(given)]
    else:
        specs = find_projects(settings.dags_folder())
    projects = []
    for spec in specs:
        try:
            projects.append(load_project_lenient(spec))
        except SpecError as exc:
            print(f"openfn-airflow: {exc}", file=sys.stderr)
    if given and not Path(given).exists():
        named = [project for project in projects if project.name == given]
        if not named:
            known = ", ".join(sorted(project.name for project in projects)) or "none"
            print(
                f"openfn-airflow: no project named {given!r} under {settings.dags_folder()} "
                f"(projects there: {known})",
                file=sys.stderr,
            )
            return None
        projects = named
    return projects


def _adaptors_install(args: argparse.Namespace) -> int:
    from openfn_airflow.runtime import adaptors_repo

    repo = _adaptors_repository()
    projects = _projects_to_install(args)
    if projects is None:
        return 1
    wanted: list[str] = []
    problems: list[str] = []
    for project in projects:
        for job in project.jobs.values():
            wanted.extend(job.adaptors)
        problems.extend(
            f"{project.name}: {problem}"
            for problem in project.problems
            if ".adaptor" in f"{problem.location}."
        )
    wanted = list(dict.fromkeys(wanted))
    for problem in problems:
        print(problem, file=sys.stderr)
    todo = adaptors_repo.missing(repo, wanted)
    if todo or problems:
        try:
            adaptors_repo.npm()
        except adaptors_repo.NpmMissing as exc:
            print(f"openfn-airflow: {exc}", file=sys.stderr)
            return 1
    if not wanted and not problems:
        print(f"no JavaScript job names an adaptor; nothing to install into {repo}")
        return 0
    try:
        done = adaptors_repo.install(repo, wanted)
    except adaptors_repo.AdaptorsError as exc:
        print(f"openfn-airflow: {exc}", file=sys.stderr)
        return 1
    for package in done:
        print(f"installed {package}")
    for package in wanted:
        if package not in todo:
            print(f"already installed {package}")
    print(f"adaptors repository: {repo}")
    if problems:
        print(
            f"openfn-airflow: {len(problems)} adaptor problem(s) above: those jobs' adaptors "
            "were not installed (see openfn-airflow validate)",
            file=sys.stderr,
        )
        return 1
    return 0


def _adaptors_list(args: argparse.Namespace) -> int:
    from openfn_airflow.runtime import adaptors_repo

    repo = _adaptors_repository()
    packages = sorted(adaptors_repo.installed(repo))
    if not packages:
        print(f"no adaptors installed in {repo}; run: openfn-airflow adaptors install")
        return 0
    print(f"adaptors repository: {repo}")
    for package in packages:
        print(package)
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        from openfn_airflow.imports import command
    except ModuleNotFoundError as exc:
        if exc.name not in ("openfn_airflow.imports", "openfn_airflow.imports.command"):
            raise
        print("openfn-airflow: import is not available in this version", file=sys.stderr)
        return 1
    _adaptors_repository()  # the imported spec's adaptors are checked against the repository
    return int(command.run(args) or 0)


def _standalone(args: argparse.Namespace) -> int:
    from openfn_airflow import standalone

    return standalone.main(args.rest) or 0


def _settings_line(home: Path | None) -> str:
    if home is None:
        return "settings: Airflow's own (AIRFLOW_HOME, airflow.cfg, AIRFLOW__* variables)"
    return f"settings: the standalone home {home}, under what your environment sets itself"


def build_parser(home: Path | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openfn-airflow",
        description=DESCRIPTION,
        epilog=_settings_line(home),
        # Kept as written: wrapping would break the home's path at a hyphen.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="say which settings the command uses"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check project specs and print every problem")
    validate.add_argument("path", help="a project.yaml or a folder holding project specs")
    validate.set_defaults(func=_validate)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    migrate = db_commands.add_parser("migrate", help="create or upgrade the openfn tables")
    migrate.add_argument("--url", help="PostgreSQL URL (default: Airflow's metadata database)")
    migrate.set_defaults(func=_db_migrate)

    inbox_url = commands.add_parser("inbox-url", help="print the inbox URL of a project")
    inbox_url.add_argument("project")
    inbox_url.set_defaults(func=_inbox_url)

    auth = commands.add_parser("auth", help="a project inbox's auth methods")
    auth_commands = auth.add_subparsers(dest="auth_command", required=True)
    listing = auth_commands.add_parser("list", help="list the auth methods (never the secrets)")
    listing.add_argument("project")
    listing.set_defaults(func=_auth_list)
    add_key = auth_commands.add_parser("add-key", help="add an API key (printed once)")
    add_key.add_argument("project")
    add_key.set_defaults(func=_auth_add)
    add_basic = auth_commands.add_parser(
        "add-basic", help="add a basic-auth user (the generated password is printed once)"
    )
    add_basic.add_argument("project")
    add_basic.add_argument("user")
    add_basic.set_defaults(func=_auth_add)
    add_webhook = auth_commands.add_parser(
        "add-webhook", help="add a Standard Webhooks signing secret (printed once)"
    )
    add_webhook.add_argument("project")
    add_webhook.set_defaults(func=_auth_add)
    revoke = auth_commands.add_parser("revoke", help="revoke an auth method at once")
    revoke.add_argument("project")
    revoke.add_argument("method_id", type=int)
    revoke.set_defaults(func=_auth_revoke)
    opening = auth_commands.add_parser(
        "open",
        help="let an inbox whose methods were all revoked take requests without credentials",
    )
    opening.add_argument("project")
    opening.set_defaults(func=_auth_open)

    adaptors = commands.add_parser(
        "adaptors", help="the OpenFn adaptors JavaScript jobs run on ([openfn] adaptors_path)"
    )
    adaptors_commands = adaptors.add_subparsers(dest="adaptors_command", required=True)
    install = adaptors_commands.add_parser(
        "install", help="install every adaptor the jobs of a project (default: all) name"
    )
    install.add_argument(
        "project", nargs="?", help="a project name or spec path (default: every project)"
    )
    install.set_defaults(func=_adaptors_install)
    adaptors_list = adaptors_commands.add_parser("list", help="list the installed adaptors")
    adaptors_list.set_defaults(func=_adaptors_list)

    importing = commands.add_parser(
        "import", help="turn an OpenFn project export (v1 or Lightning) into a project here"
    )
    importing.add_argument("path", help="the export's project.yaml (or its folder)")
    importing.add_argument("--out", help="where to write the project (default: ./<name>)")
    importing.set_defaults(func=_import)

    standalone = commands.add_parser(
        "standalone", help="run PostgreSQL, Airflow and the example project on this machine"
    )
    standalone.add_argument("rest", nargs=argparse.REMAINDER, help="options for standalone")
    standalone.set_defaults(func=_standalone)
    return parser


def _load_standalone_settings() -> Path | None:
    """Take the settings `make run` left in this checkout's home, before Airflow is imported.

    Airflow reads AIRFLOW_HOME and its variables once, at import; standalone gives them only to
    its own processes, so without this a second terminal would use ~/airflow and SQLite.
    """
    import os

    from openfn_airflow.standalone.settings_file import apply_settings

    return apply_settings(os.environ, Path.cwd())


def main(argv: list[str] | None = None) -> int:
    from openfn_airflow.store.errors import StoreError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["standalone"]:  # its options belong to standalone's own parser
        from openfn_airflow import standalone

        return int(standalone.main(argv[1:]) or 0)
    home = _load_standalone_settings()
    args = build_parser(home).parse_args(argv)
    if args.verbose:
        print(f"openfn-airflow: {_settings_line(home)}", file=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except StoreError as exc:
        print(f"openfn-airflow: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
