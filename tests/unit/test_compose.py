"""docker-compose.yaml: what a team deploying it relies on, checked without a Docker engine.

The structure is read with PyYAML (anchors and ``<<`` merges resolved as Compose resolves them);
scripts/check-compose then lets the real Compose CLI validate the file when one is installed. In CI
(``CI=true``) a missing CLI fails instead of skipping: ``.ci/run`` installs Debian's docker-compose.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
CHECK_SCRIPT = ROOT / "scripts" / "check-compose"
NGINX_CONF = ROOT / "docker" / "nginx.conf"
DOCKERFILE = ROOT / "docker" / "Dockerfile"

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
SECRETS = {
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
}
# The Airflow components, by the first words of their command.
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker")
# A whole value that is one variable reference: ${NAME}, ${NAME:?message}, ${NAME:-default}.
REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[?-][^}]*)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
PROXY_PORT = "${OPENFN_BIND:-127.0.0.1}:${OPENFN_HTTP_PORT:-8080}:8080"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _command(service: dict) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(command)


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: str(value) for key, value in env.items()}


def _component(service: dict) -> str | None:
    command = _command(service)
    return next((c for c in COMPONENTS if command == c or command.startswith(c + " ")), None)


def _one_shot(services: dict[str, dict]) -> set[str]:
    """Services others wait to see finish (``service_completed_successfully``), not restarted."""
    awaited = {
        name
        for service in services.values()
        for name, dep in (service.get("depends_on") or {}).items()
        if isinstance(dep, dict) and dep.get("condition") == "service_completed_successfully"
    }
    return {name for name in awaited if str(services[name].get("restart", "no")) == "no"}


def _airflow_services() -> dict[str, dict]:
    """Every service running Airflow: the components and the init job."""
    services = _services()
    return {
        name: service
        for name, service in services.items()
        if _component(service) or "airflow db migrate" in _command(service)
    }


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not KEY=VALUE"
            values[key.strip()] = value.strip()
    return values


def _referenced_variables(text: str) -> set[str]:
    """Variables Compose interpolates: ``${NAME...}`` and ``$NAME``, but not ``$$`` escapes."""
    names = set()
    for match in re.finditer(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)", text):
        if match.group(0) != "$$":
            names.add(match.group(1) or match.group(2))
    return names


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- the topology ---------------------------------------------------------------------------


def test_two_api_servers_behind_the_proxy():
    services = _services()
    api_servers = [name for name, s in services.items() if _component(s) == "api-server"]
    replicas = sum(int((services[n].get("deploy") or {}).get("replicas", 1)) for n in api_servers)
    assert replicas == 2, f"api-server replicas: {api_servers}"
    # The proxy sends requests to each of them, and is the one published port.
    upstream = re.search(r"upstream\s+\S+\s*\{(.*?)\}", NGINX_CONF.read_text(), re.S)
    assert upstream, "docker/nginx.conf has no upstream block"
    targets = re.findall(r"^\s*server\s+([\w.-]+):8080\b", upstream.group(1), re.M)
    assert sorted(targets) == sorted(api_servers)
    proxy = services["api-proxy"]
    assert any("./docker/nginx.conf:" in volume for volume in proxy["volumes"])
    assert proxy["ports"] == [PROXY_PORT]
    published = [name for name, s in services.items() if s.get("ports")]
    assert published == ["api-proxy"], "only the proxy publishes a port"
    for name in api_servers:
        assert "--proxy-headers" in _command(services[name])


def test_the_proxy_listens_on_localhost_unless_told_otherwise():
    # Published on every address, the UI and the inbox would be open before any TLS terminator
    # or firewall is set up: 127.0.0.1 until OPENFN_BIND says otherwise.
    assert _services()["api-proxy"]["ports"] == [PROXY_PORT]
    assert _env_example()["OPENFN_BIND"] == "127.0.0.1"
    assert "OPENFN_BIND" in COMPOSE_FILE.read_text().split("x-openfn-image")[0]  # documented
    readme = (ROOT / "README.md").read_text().split("## Running with docker-compose")[1]
    assert "OPENFN_BIND" in readme.split("\n## ")[0]


def _nginx_forwarded_proto() -> tuple[str, dict[str, str]]:
    """The value nginx sends as X-Forwarded-Proto, and the map that sets it (if one does)."""
    text = NGINX_CONF.read_text()
    [value] = re.findall(r"^\s*proxy_set_header\s+X-Forwarded-Proto\s+(\S+);", text, re.M)
    maps = {
        target: dict(re.findall(r"^\s*(\S+)\s+(\S+);", body, re.M))
        for source, target, body in re.findall(r"map\s+(\S+)\s+(\S+)\s*\{(.*?)\}", text, re.S)
        if source == "$http_x_forwarded_proto"
    }
    return value, maps.get(value, {})


def test_the_proxy_keeps_the_scheme_a_tls_terminator_in_front_sent():
    # Behind a TLS terminator nginx sees plain http; Airflow (--proxy-headers) builds its links
    # and redirects from X-Forwarded-Proto, so the terminator's "https" must pass through.
    value, mapping = _nginx_forwarded_proto()
    assert value != "$scheme", "X-Forwarded-Proto is always nginx's own scheme"
    assert mapping.get("default") == "$http_x_forwarded_proto", mapping
    assert mapping.get('""') == "$scheme", "without the header, nginx's own scheme"


def test_every_airflow_component_is_there():
    found = sorted(filter(None, (_component(s) for s in _services().values())))
    assert found == sorted(["api-server", "api-server", *COMPONENTS[1:]])


def test_celery_executor_everywhere_with_redis_and_postgresql():
    airflow = _airflow_services()
    assert len(airflow) == 7  # 2 api-servers, scheduler, dag-processor, triggerer, worker, init
    for name, service in airflow.items():
        env = _environment(service)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("@redis:6379/0"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env["AIRFLOW__OPENFN__DATABASE_URL"].startswith("postgresql://"), name
        # Workers reach the execution API through the proxy, so either api-server serves them.
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-proxy:8080/execution/"


def test_every_airflow_service_shares_the_same_configuration():
    envs = [_environment(s) for s in _airflow_services().values()]
    for key in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API__BASE_URL",
        "AIRFLOW__CORE__DAGS_FOLDER",
    ):
        assert len({env.get(key) for env in envs}) == 1, key


def test_fab_auth_manager():
    for name, service in _airflow_services().items():
        assert _environment(service)["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER, name
        config_mount = "./docker/webserver_config.py:/opt/airflow/webserver_config.py:ro"
        assert config_mount in service["volumes"], name
    extras = configparser.ConfigParser()
    extras.read(ROOT / "setup.cfg")
    production = extras["options.extras_require"]["production"]
    assert "apache-airflow-providers-fab" in production
    assert "apache-airflow-providers-celery" in production


def test_the_dags_folder_is_the_mounted_project():
    for name, service in _airflow_services().items():
        dags_folder = _environment(service)["AIRFLOW__CORE__DAGS_FOLDER"]
        mounts = [v for v in service["volumes"] if v.split(":")[1:2] == [dags_folder]]
        assert mounts and mounts[0].split(":")[0] == "./dags", name
    assert (ROOT / "dags" / "openfn_jobs.py").exists()
    assert (ROOT / "dags" / "example" / "project.yaml").exists()


def test_init_migrates_every_table_and_creates_the_admin():
    services = _services()
    assert _one_shot(services) == {"airflow-init"}
    init = _command(services["airflow-init"])
    # One `airflow db migrate` runs Airflow's, FAB's and our (DB manager) migrations.
    assert "airflow db migrate" in init
    assert "airflow users create --role Admin" in init
    assert "$$OPENFN_ADMIN_PASSWORD" in init  # read from the environment, never written here
    for name in _airflow_services():
        if name != "airflow-init":
            dep = services[name]["depends_on"]["airflow-init"]
            assert dep == {"condition": "service_completed_successfully"}, name


def test_postgresql_keeps_its_data_in_a_named_volume():
    compose = _compose()
    postgres = compose["services"]["postgres"]
    source, target = postgres["volumes"][0].split(":")[:2]
    assert target == "/var/lib/postgresql/data"
    assert source in compose["volumes"], "a named volume, not a bind mount"
    assert "pg_isready" in postgres["healthcheck"]["test"]


# --- health checks and start order ----------------------------------------------------------


def test_every_long_running_service_has_a_health_check():
    services = _services()
    one_shot = _one_shot(services)
    for name, service in services.items():
        if name in one_shot:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert str(service.get("restart")) in ("always", "unless-stopped"), name


@pytest.mark.parametrize(
    ("component", "probe"),
    [
        ("api-server", "/api/v2/monitor/health"),
        ("scheduler", "airflow jobs check --job-type SchedulerJob"),
        ("dag-processor", "airflow jobs check --job-type DagProcessorJob"),
        ("triggerer", "airflow jobs check --job-type TriggererJob"),
        ("celery worker", "inspect ping"),
    ],
)
def test_health_checks_ask_airflow_itself(component, probe):
    services = [s for s in _services().values() if _component(s) == component]
    assert services
    for service in services:
        test = service["healthcheck"]["test"]
        assert probe in (test if isinstance(test, str) else " ".join(test))


def test_depends_on_waits_for_the_right_condition():
    services = _services()
    one_shot = _one_shot(services)
    for name, service in services.items():
        for target, dep in (service.get("depends_on") or {}).items():
            assert isinstance(dep, dict) and "condition" in dep, f"{name} -> {target}"
            if dep["condition"] == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}'s health"
            else:
                assert dep["condition"] == "service_completed_successfully", f"{name}->{target}"
                assert target in one_shot
    # Tasks start only once the execution API answers (as `make run` does).
    for name in ("airflow-scheduler", "airflow-worker"):
        assert services[name]["depends_on"]["api-proxy"] == {"condition": "service_healthy"}


# --- secrets --------------------------------------------------------------------------------


def test_no_secret_literal_in_the_compose_file():
    services = _services()
    for name, service in services.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert REFERENCE.fullmatch(value), f"{name}: {key} must be a ${{VAR}} from .env"
    for text in _strings(_compose()):
        for password in re.findall(r"://[^:/@\s]*:([^@\s]*)@", text):
            assert REFERENCE.fullmatch(password), f"a password literal in {text!r}"
    # Each secret is required: a missing .env stops Compose with a message, not a blank password.
    raw = COMPOSE_FILE.read_text()
    for secret in SECRETS:
        assert re.search(r"\$\{" + secret + r":\?[^}]*\.env", raw), f"{secret} has no :? guard"


def test_every_variable_is_defined_in_env_example():
    referenced = _referenced_variables(COMPOSE_FILE.read_text())
    defined = _env_example()
    assert referenced - set(defined) == set(), "add these to .env.example"
    assert set(defined) - referenced == set(), ".env.example defines variables nobody uses"
    assert referenced >= SECRETS


def test_env_example_holds_placeholders_not_secrets():
    defined = _env_example()
    for secret in SECRETS:
        assert defined[secret] == "change-me", f".env.example must not hold a real {secret}"


def test_the_real_env_file_is_never_committed_nor_sent_to_docker():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()
    if shutil.which("git") and (ROOT / ".git").exists():
        tracked = subprocess.run(
            ["git", "ls-files", "--", ".env"], cwd=ROOT, capture_output=True, text=True
        )
        assert tracked.stdout.strip() == ""


# --- the image ------------------------------------------------------------------------------


def test_dockerfile_extends_the_official_airflow_image_with_this_package():
    from packaging.specifiers import SpecifierSet

    text = DOCKERFILE.read_text()
    version = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", text, re.M).group(1)
    assert re.search(r"^ARG PYTHON_VERSION=3\.11$", text, re.M)
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in text
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    requirement = next(
        line.strip()
        for line in config["options"]["install_requires"].splitlines()
        if line.strip().startswith("apache-airflow>")
    )
    assert version in SpecifierSet(requirement.removeprefix("apache-airflow")), requirement
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in text  # pip must not move Airflow
    assert "[production]" in text
    assert _services()["airflow-scheduler"]["build"]["dockerfile"] == "docker/Dockerfile"


def _entrypoint_environment(cpus: str | None = None, **env: str) -> dict[str, str]:
    """What the official entrypoint would get from docker/entrypoint.sh (``env`` stands in)."""
    command = [str(ROOT / "docker" / "entrypoint.sh")]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    answer = subprocess.run(
        command,
        env={"PATH": os.environ["PATH"], "OPENFN_AIRFLOW_NEXT_ENTRYPOINT": "env", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in answer.stdout.splitlines() if "=" in line)


def test_the_image_sizes_its_task_slots_from_the_container_cores():
    text = DOCKERFILE.read_text()
    assert 'ENTRYPOINT ["/usr/bin/dumb-init", "--", "/opt/openfn-airflow/entrypoint.sh"]' in text
    assert "COPY docker/entrypoint.sh /opt/openfn-airflow/entrypoint.sh" in text
    assert "docker/entrypoint.sh" in (ROOT / ".dockerignore").read_text()  # not ignored
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert script.rstrip().endswith('exec "${OPENFN_AIRFLOW_NEXT_ENTRYPOINT:-/entrypoint}" "$@"')
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)

    one_core = _entrypoint_environment("0")
    assert one_core["AIRFLOW__CORE__PARALLELISM"] == "2"
    assert one_core["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"
    every_core = _entrypoint_environment()
    assert every_core["AIRFLOW__CORE__PARALLELISM"] == str(2 * len(os.sched_getaffinity(0)))


def test_task_slots_set_in_the_environment_win():
    chosen = _entrypoint_environment(AIRFLOW__CORE__PARALLELISM="16")
    assert chosen["AIRFLOW__CORE__PARALLELISM"] == "16"
    assert chosen["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "16"  # the worker follows it
    both = _entrypoint_environment(
        "0", AIRFLOW__CORE__PARALLELISM="16", AIRFLOW__CELERY__WORKER_CONCURRENCY="3"
    )
    assert both["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "3"


# --- docker/new_env.py ----------------------------------------------------------------------


def test_new_env_replaces_every_placeholder_and_keeps_what_is_set(tmp_path):
    from cryptography.fernet import Fernet

    sys.path.insert(0, str(ROOT / "docker"))
    try:
        import new_env
    finally:
        sys.path.remove(str(ROOT / "docker"))
    env_file = tmp_path / ".env"
    assert new_env.main(["--env", str(env_file), "--example", str(ENV_EXAMPLE)]) == 0
    first = env_file.read_text()
    values = dict(
        line.split("=", 1) for line in first.splitlines() if line and not line.startswith("#")
    )
    assert "change-me" not in values.values()
    assert set(values) == set(_env_example())
    Fernet(values["AIRFLOW_FERNET_KEY"].encode())  # a valid key
    assert re.fullmatch(r"[0-9a-f]{48}", values["POSTGRES_PASSWORD"])  # safe inside a URL
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert new_env.main(["--env", str(env_file), "--example", str(ENV_EXAMPLE)]) == 0
    assert env_file.read_text() == first


# --- the real Compose CLI -------------------------------------------------------------------


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.fixture(scope="module")
def compose_cli() -> list[str]:
    cli = _compose_cli()
    if cli is None:
        reason = (
            "no Compose CLI (`docker compose` or `docker-compose`) to validate "
            "docker-compose.yaml: apt-get install -y --no-install-recommends docker-compose"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason} (.ci/run installs it)")
        pytest.skip(reason)
    return cli


def test_check_compose_script_passes(compose_cli):
    result = subprocess.run(
        ["bash", str(CHECK_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check-compose: ok" in result.stdout


def test_the_cli_resolves_the_file_as_pyyaml_reads_it(compose_cli, tmp_path):
    env_file = tmp_path / "env"
    shutil.copy(ENV_EXAMPLE, env_file)
    result = subprocess.run(
        [
            *compose_cli,
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    ours = _services()
    assert set(resolved) == set(ours)
    for name, service in ours.items():
        assert bool(resolved[name].get("healthcheck")) == bool(service.get("healthcheck")), name
        executor = _environment(service).get("AIRFLOW__CORE__EXECUTOR")
        assert _environment(resolved[name]).get("AIRFLOW__CORE__EXECUTOR") == executor, name
    assert (
        _environment(resolved["airflow-api-server-1"])["AIRFLOW__API_AUTH__JWT_SECRET"]
        == _env_example()["AIRFLOW_JWT_SECRET"]
    )
    # Compose v2 writes the port long-form, docker-compose 1.29 as "host_ip:published:target".
    [port] = resolved["api-proxy"]["ports"]
    if isinstance(port, dict):
        assert (port["host_ip"], str(port["published"]), port["target"]) == (
            "127.0.0.1",
            "8080",
            8080,
        )
    else:
        assert port.removesuffix("/tcp") == "127.0.0.1:8080:8080"
