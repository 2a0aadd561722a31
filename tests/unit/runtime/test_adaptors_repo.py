"""The adaptors repository: OpenFn's name_version layout, installed under a lock."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from openfn_airflow.runtime import adaptors_repo

COMMON = "@openfn/language-common@3.3.4"

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None and not os.environ.get("CI"), reason="needs Node.js 20+ and npm"
)


@needs_npm
def test_install_lays_out_name_version_aliases_with_real_npm(tmp_path):
    repo = tmp_path / "adaptors"

    assert adaptors_repo.missing(repo, [COMMON]) == [COMMON]
    assert adaptors_repo.install(repo, [COMMON]) == [COMMON]

    manifest = json.loads((repo / "package.json").read_text())
    assert manifest["dependencies"] == {
        "@openfn/language-common_3.3.4": "npm:@openfn/language-common@3.3.4"
    }
    module = repo / "node_modules" / "@openfn" / "language-common_3.3.4"
    assert json.loads((module / "package.json").read_text())["version"] == "3.3.4"
    assert adaptors_repo.installed(repo) == {COMMON}
    assert adaptors_repo.missing(repo, [COMMON, COMMON]) == []
    assert adaptors_repo.install(repo, [COMMON]) == []  # already there: npm is not run


def test_a_broken_install_is_not_counted_as_installed(tmp_path):
    repo = tmp_path / "adaptors"
    repo.mkdir()
    (repo / "package.json").write_text(
        json.dumps({"dependencies": {"@openfn/language-common_3.3.4": "npm:x"}})
    )
    (repo / "node_modules" / "@openfn" / "language-common_3.3.4").mkdir(parents=True)

    assert adaptors_repo.installed(repo) == set()
    assert adaptors_repo.missing(repo, [COMMON]) == [COMMON]


def fake_npm(folder: Path, log: Path, seconds: float = 1.0) -> None:
    """An npm that logs its start and end, sleeps, and installs the aliases it is given."""
    folder.mkdir(exist_ok=True)
    script = folder / "npm"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, sys, time
            from pathlib import Path
            with open({str(log)!r}, "a") as log:
                log.write(f"start {{os.getpid()}} {{sorted(os.environ)}}\\n")
            time.sleep({seconds})
            args = sys.argv[1:]
            repo = Path(args[args.index("--prefix") + 1])
            manifest = json.loads((repo / "package.json").read_text())
            for spec in args:
                if "@npm:" not in spec:
                    continue
                key, _, package = spec.partition("@npm:")
                version = package.rpartition("@")[2]
                manifest["dependencies"][key] = "npm:" + package
                module = repo / "node_modules" / key
                module.mkdir(parents=True, exist_ok=True)
                (module / "package.json").write_text(json.dumps({{"version": version}}))
            (repo / "package.json").write_text(json.dumps(manifest))
            with open({str(log)!r}, "a") as log:
                log.write(f"end {{os.getpid()}}\\n")
            """
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def with_fake_npm(tmp_path, monkeypatch):
    log = tmp_path / "npm.log"
    fake_npm(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return log


INSTALL = textwrap.dedent(
    """\
    import json, sys
    from openfn_airflow.runtime import adaptors_repo
    print(json.dumps(adaptors_repo.install(sys.argv[1], [sys.argv[2]])))
    """
)


def test_two_processes_never_install_at_once(tmp_path, with_fake_npm):
    repo = tmp_path / "adaptors"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INSTALL, str(repo), COMMON],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = sorted(json.loads(p.communicate(timeout=60)[0]) for p in processes)

    # One ran npm; the other waited for the lock, then found the adaptor there.
    assert outputs == [[], [COMMON]]
    assert [line.split()[0] for line in with_fake_npm.read_text().splitlines()] == [
        "start",
        "end",
    ]
    assert adaptors_repo.installed(repo) == {COMMON}


def test_npm_gets_no_secret_of_this_process(tmp_path, with_fake_npm, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HTTP_API", "http://user:s3cret@example")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://u:s3cret@db/x")

    adaptors_repo.install(tmp_path / "adaptors", [COMMON])

    started = with_fake_npm.read_text().splitlines()[0]
    assert "PATH" in started and "HOME" in started
    assert "AIRFLOW_CONN_HTTP_API" not in started
    assert "SQL_ALCHEMY_CONN" not in started


def test_npm_missing_says_to_install_node_20(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(adaptors_repo.NpmMissing) as caught:
        adaptors_repo.install(tmp_path / "adaptors", [COMMON])

    assert "Node.js 20" in str(caught.value) and "npm" in str(caught.value)


def test_a_background_install_does_not_wait_and_is_not_started_twice(tmp_path, with_fake_npm):
    repo = tmp_path / "adaptors"

    started = time.monotonic()
    assert adaptors_repo.install_in_background(repo, [COMMON]) is True
    assert time.monotonic() - started < 0.9  # the fake npm sleeps 1 s: nobody waited for it

    deadline = time.monotonic() + 30
    while not adaptors_repo.installed(repo) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert adaptors_repo.installed(repo) == {COMMON}
    assert adaptors_repo.install_in_background(repo, [COMMON]) is False  # nothing missing


def test_a_background_install_is_not_started_while_another_holds_the_lock(tmp_path):
    repo = tmp_path / "adaptors"
    with adaptors_repo.locked(repo):
        assert adaptors_repo.install_in_background(repo, [COMMON]) is False


def test_a_failed_background_install_is_not_retried_at_every_parse(tmp_path, monkeypatch):
    repo = tmp_path / "adaptors"
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    assert adaptors_repo._main([str(repo), COMMON]) == 1  # what the background process runs

    assert adaptors_repo.install_in_background(repo, [COMMON]) is False
    assert "Node.js 20" in json.loads((repo / ".last-install.json").read_text())["error"]
