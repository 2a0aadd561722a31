"""The pure parts of ``openfn-airflow standalone``: database URLs, configuration, secrets. No processes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from openfn_airflow.standalone import parse_arguments
from openfn_airflow.standalone.api_server import unhealthy
from openfn_airflow.standalone.database import (
    DEFAULT_SERVER_URL,
    NEEDS_POSTGRES,
    DatabaseError,
    checked_airflow_url,
    libpq_url,
    redact,
    resolve_database,
    sqlalchemy_url,
)
from openfn_airflow.standalone.environment import (
    admin_password,
    airflow_environment,
    load_secrets,
)
from openfn_airflow.standalone.processes import alarm_key
from openfn_airflow.standalone.settings_file import apply_settings, find_home, write_settings


def make_environment(base: dict[str, str] | None = None, **overrides) -> dict[str, str]:
    arguments = {
        "airflow_home": Path("/srv/project/.airflow"),
        "dags_folder": Path("/srv/project/dags"),
        "database_url": "postgresql+psycopg2://postgres@127.0.0.1:5432/openfn_airflow",
        "openfn_database_url": "postgresql://postgres@127.0.0.1:5432/openfn_airflow",
        "port": 8080,
        "secret_values": {"jwt_secret": "j" * 86, "secret_key": "s" * 86},
        "fake_api_url": "http://127.0.0.1:8099",
        "bin_dir": Path("/srv/project/.venv/bin"),
    }
    arguments.update(overrides)
    return airflow_environment(base if base is not None else {"PATH": "/usr/bin"}, **arguments)


def never_called(message: str) -> None:
    raise AssertionError(f"unexpected message: {message}")


# --- database URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["sqlite:////tmp/airflow.db", "sqlite:///airflow.db", "mysql+mysqldb://u:p@db/airflow", ""],
)
def test_anything_but_postgres_is_refused_with_what_to_do(url):
    with pytest.raises(DatabaseError) as error:
        checked_airflow_url(url)
    assert str(error.value) == NEEDS_POSTGRES
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in str(error.value)
    assert "jsonb" in str(error.value)


def test_configured_sqlite_stops_before_touching_any_server(tmp_path):
    environ = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////tmp/airflow.db"}
    with pytest.raises(DatabaseError, match="openfn-airflow needs PostgreSQL"):
        resolve_database(environ, tmp_path / ".pgdata", never_called)
    assert not (tmp_path / ".pgdata").exists()


def test_configured_postgres_is_used_as_given(tmp_path):
    url = "postgresql+psycopg2://airflow:secret@db.internal:5432/airflow"
    database = resolve_database(
        {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}, tmp_path / ".pgdata", never_called
    )
    assert database.url == url
    assert database.server is None
    assert "secret" not in database.display


def test_postgres_alias_is_renamed_for_sqlalchemy():
    assert checked_airflow_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert checked_airflow_url(" postgresql://u@h/db ") == "postgresql://u@h/db"


def test_openfn_pg_url_must_be_postgres(tmp_path):
    with pytest.raises(DatabaseError, match="OPENFN_PG_URL"):
        resolve_database({"OPENFN_PG_URL": "mysql://h/db"}, tmp_path / ".pgdata", never_called)


def test_default_server_url_becomes_airflow_url_of_our_database():
    assert sqlalchemy_url(DEFAULT_SERVER_URL) == (
        "postgresql+psycopg2://postgres@127.0.0.1:5432/openfn_airflow"
    )


def test_server_url_keeps_credentials_and_socket_host():
    embedded = "postgresql://postgres:@/postgres?host=/srv/project/.pgdata"
    assert sqlalchemy_url(embedded) == (
        "postgresql+psycopg2://postgres:@/openfn_airflow?host=/srv/project/.pgdata"
    )
    assert sqlalchemy_url("postgres://u:p%40ss@h:6543/other", "mine") == (
        "postgresql+psycopg2://u:p%40ss@h:6543/mine"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg2://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db?sslmode=require", "postgresql://u@h/db?sslmode=require"),
        ("postgres://u@h/db", "postgresql://u@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_libpq_url_drops_the_sqlalchemy_driver(url, expected):
    assert libpq_url(url) == expected


def test_redact_hides_passwords_only():
    assert redact("postgresql://u:hunter2@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact("postgresql://postgres:@/db?host=/x") == "postgresql://postgres:@/db?host=/x"


# --- the environment of the children -------------------------------------------------------------


def test_environment_configures_airflow_for_openfn():
    env = make_environment()
    assert env["AIRFLOW_HOME"] == "/srv/project/.airflow"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/srv/project/dags"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(2 * len(os.sched_getaffinity(0)))
    assert env["AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG"] == "200"
    assert env["AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG"] == "200"
    assert env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] == "30"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "j" * 86
    assert env["AIRFLOW__API__SECRET_KEY"] == "s" * 86
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__OPENFN__DATABASE_URL"].startswith("postgresql://")
    assert env["PATH"] == "/srv/project/.venv/bin:/usr/bin"


def test_task_slots_are_twice_the_cores_the_process_may_use(monkeypatch):
    from openfn_airflow.standalone.environment import cores, task_slots

    assert [task_slots(n) for n in (1, 2, 8)] == [2, 4, 16]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5})  # a container's cpuset
    assert cores() == 3


def test_port_moves_the_execution_api_with_it():
    env = make_environment(port=9090)
    assert env["AIRFLOW__API__PORT"] == "9090"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:9090/execution/"


def test_log_servers_get_the_ports_chosen_for_them():
    assert make_environment()["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == "8793"
    env = make_environment(log_server_ports=(41001, 41002))
    assert env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == "41001"
    assert env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] == "41002"


def test_example_connection_is_airflow_json_for_the_fake_api():
    env = make_environment(fake_api_url="http://127.0.0.1:8199")
    assert json.loads(env["AIRFLOW_CONN_EXAMPLE_API"]) == {
        "conn_type": "http",
        "host": "http://127.0.0.1:8199",
    }


def test_user_settings_win_but_home_database_and_port_are_ours():
    base = {
        "PATH": "/usr/bin",
        "AIRFLOW__CORE__PARALLELISM": "32",
        "AIRFLOW_CONN_EXAMPLE_API": "http://elsewhere",
        "AIRFLOW_HOME": "/somewhere/else",
        "AIRFLOW__API__PORT": "1234",
    }
    env = make_environment(base)
    assert env["AIRFLOW__CORE__PARALLELISM"] == "32"
    assert env["AIRFLOW_CONN_EXAMPLE_API"] == "http://elsewhere"
    assert env["AIRFLOW_HOME"] == "/srv/project/.airflow"
    assert env["AIRFLOW__API__PORT"] == "8080"
    assert base["AIRFLOW__API__PORT"] == "1234"  # the caller's mapping is not changed


# --- secrets and the login -----------------------------------------------------------------------


def test_secrets_are_generated_once_long_and_private(tmp_path):
    first = load_secrets(tmp_path / ".airflow")
    path = tmp_path / ".airflow" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first["jwt_secret"]) >= 86  # 64 random bytes, URL-safe base64
    assert first["jwt_secret"] != first["secret_key"]
    assert load_secrets(tmp_path / ".airflow") == first


def test_secrets_file_made_readable_by_others_is_closed_again(tmp_path):
    first = load_secrets(tmp_path)
    (tmp_path / "secrets.json").chmod(0o644)
    assert load_secrets(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_admin_password_is_read_from_the_generated_file(tmp_path):
    env = {"AIRFLOW_HOME": str(tmp_path)}
    assert admin_password(env) is None
    (tmp_path / "simple_auth_manager_passwords.json.generated").write_text('{"admin": "pw1"}\n')
    assert admin_password(env) == "pw1"
    custom = tmp_path / "custom.json"
    custom.write_text('{"admin": "pw2"}')
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(custom)
    assert admin_password(env) == "pw2"


# --- start-up and the terminal -------------------------------------------------------------------


def test_health_waits_for_every_component():
    healthy = {"status": "healthy"}
    answer = {
        "metadatabase": healthy,
        "scheduler": {"status": "unhealthy"},
        "triggerer": healthy,
        "dag_processor": None,
    }
    assert unhealthy(answer) == ["scheduler", "dag_processor"]
    assert unhealthy(answer, ("metadatabase",)) == []
    assert unhealthy(None) == ["metadatabase", "scheduler", "triggerer", "dag_processor"]


def test_a_repeated_error_has_one_key_whatever_its_time():
    first = "2026-11-28T04:46:03.589379+00:00 [error    ] Task failed try=1 pid=123"
    again = "2026-11-28T04:51:03.001000+00:00 [error    ] Task failed try=2 pid=456"
    assert alarm_key(first) == alarm_key(again)
    assert alarm_key(first) != alarm_key("[error    ] Something else")


def test_options_default_to_the_documented_ports():
    args = parse_arguments([])
    assert (args.port, args.fake_api_port, args.verbose) == (8080, 8099, False)
    assert parse_arguments(["--port", "8081", "-v"]).port == 8081


def test_options_after_a_double_dash_are_ours():
    assert parse_arguments(["--", "--port", "8081"]).port == 8081
    assert parse_arguments(["--"]).port == 8080


# --- the settings file the CLI beside standalone reads -------------------------------------------


def write_checkout_settings(checkout: Path, **base: str) -> dict[str, str]:
    env = make_environment(
        {"PATH": "/usr/bin", **base},
        airflow_home=checkout / ".airflow",
        dags_folder=checkout / "dags",
        port=8181,
    )
    write_settings(checkout / ".airflow", env)
    return env


def test_the_settings_file_holds_only_what_the_cli_needs_and_only_its_owner_reads_it(tmp_path):
    env = write_checkout_settings(
        tmp_path, AIRFLOW__OPENFN__ADAPTORS_PATH="/srv/adaptors", AIRFLOW__CORE__PARALLELISM="4"
    )

    path = tmp_path / ".airflow" / "openfn-standalone.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "AIRFLOW_HOME": str(tmp_path / ".airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
        "AIRFLOW__OPENFN__DATABASE_URL": env["AIRFLOW__OPENFN__DATABASE_URL"],
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__API__PORT": "8181",
        "AIRFLOW__OPENFN__ADAPTORS_PATH": "/srv/adaptors",
    }
    assert "j" * 86 not in path.read_text()  # no JWT secret, no API secret key


def test_rewriting_the_settings_file_keeps_it_private(tmp_path):
    home = tmp_path / ".airflow"
    home.mkdir()
    (home / "openfn-standalone.json").write_text("{}")
    (home / "openfn-standalone.json").chmod(0o644)

    write_checkout_settings(tmp_path)

    assert stat.S_IMODE((home / "openfn-standalone.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["openfn-standalone.json"]


def test_a_command_in_a_subfolder_of_the_checkout_gets_standalones_settings(tmp_path):
    env = write_checkout_settings(tmp_path)
    (tmp_path / "dags" / "example").mkdir(parents=True)
    environ = {"PATH": "/usr/bin"}

    home = apply_settings(environ, tmp_path / "dags" / "example")

    assert home == tmp_path / ".airflow"
    assert environ["AIRFLOW_HOME"] == str(tmp_path / ".airflow")
    assert (
        environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert environ["AIRFLOW__OPENFN__DATABASE_URL"] == env["AIRFLOW__OPENFN__DATABASE_URL"]
    assert environ["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
    assert environ["AIRFLOW__API__PORT"] == "8181"


def test_what_the_user_exports_wins_and_the_two_database_urls_go_together(tmp_path):
    write_checkout_settings(tmp_path)
    mine = "postgresql+psycopg2://me@db.example/mine"
    environ = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": mine, "AIRFLOW__API__PORT": "9000"}

    apply_settings(environ, tmp_path)

    assert environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == mine
    assert "AIRFLOW__OPENFN__DATABASE_URL" not in environ  # not standalone's ledger beside mine
    assert environ["AIRFLOW__API__PORT"] == "9000"
    assert environ["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")


def test_an_exported_airflow_home_is_the_one_whose_settings_apply(tmp_path):
    write_checkout_settings(tmp_path / "checkout")
    other = tmp_path / "other"
    write_checkout_settings(other)

    environ = {"AIRFLOW_HOME": str(other / ".airflow")}
    assert apply_settings(environ, tmp_path / "checkout") == other / ".airflow"
    assert environ["AIRFLOW__CORE__DAGS_FOLDER"] == str(other / "dags")

    bare = {"AIRFLOW_HOME": str(tmp_path / "plain-airflow")}
    assert apply_settings(bare, tmp_path / "checkout") is None
    assert bare == {"AIRFLOW_HOME": str(tmp_path / "plain-airflow")}


def test_without_a_standalone_home_nothing_changes(tmp_path):
    (tmp_path / ".airflow").mkdir()  # an Airflow home standalone never wrote settings into
    environ = {"PATH": "/usr/bin"}

    assert find_home(tmp_path, environ) is None
    assert apply_settings(environ, tmp_path) is None
    assert environ == {"PATH": "/usr/bin"}


def test_the_cli_says_which_home_it_uses_only_when_asked(tmp_path, monkeypatch, capsys):
    from openfn_airflow import cli

    write_checkout_settings(tmp_path)
    spec = tmp_path / "dags" / "demo" / "project.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text("project: demo\njobs: {}\n")
    environ = {"PATH": "/usr/bin"}
    monkeypatch.setattr(os, "environ", environ)
    monkeypatch.chdir(spec.parent)

    cli.main(["validate", str(spec)])
    quiet = capsys.readouterr()
    cli.main(["--verbose", "validate", str(spec)])
    verbose = capsys.readouterr()

    assert environ["AIRFLOW_HOME"] == str(tmp_path / ".airflow")
    assert quiet.err == "" and quiet.out == f"{spec}: ok\n"
    assert f"the standalone home {tmp_path / '.airflow'}" in verbose.err
    assert (
        f"the standalone home {tmp_path / '.airflow'}"
        in cli.build_parser(tmp_path / ".airflow").format_help()
    )
