"""The JavaScript engine: a Node process per session running jobs on OpenFn's runtime.

Each test opens a real session (a real Node process on the shared adaptors repository) and
checks what a user sees of the run: exit code, status, log, final state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from adaptors import adaptors_repo

from openfn_airflow.runtime import node as node_module
from openfn_airflow.runtime.engines import CouldNotStart, JobCode, engine_for
from openfn_airflow.runtime.node import NodeEngine

JOBS = Path(__file__).parent / "js_jobs"
COMMON = "@openfn/language-common@3.3.4"
HTTP = "@openfn/language-http@7.2.10"
PASSWORD = "s3cret-pass-42"


@pytest.fixture(scope="module")
def repo() -> Path:
    return adaptors_repo()


def code_for(repo: Path, job: str | Path, *adaptors: str, **options: Any) -> JobCode:
    file = job if isinstance(job, Path) else JOBS / job
    return JobCode(
        file=str(file), adaptors=adaptors or (COMMON,), adaptors_path=str(repo), **options
    )


def run_once(code: JobCode, state: dict[str, Any] | None = None, configuration: Any = None):
    with NodeEngine(spares=False).open(code, configuration) as session:
        return session.run(state if state is not None else {"data": {}})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by a dead parent) is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


class FakeApi:
    """A local HTTP server: records every request; /missing answers 404, the rest 200 JSON."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                api.requests.append(("GET", self.path))
                status = 404 if self.path.startswith("/missing") else 200
                body = json.dumps({"path": self.path, "ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


# -- success, and what the log says ran it ------------------------------------------------------


def test_compiled_job_succeeds_and_its_log_opens_with_what_ran_it(repo: Path) -> None:
    code = code_for(repo, "compiled.js")
    with engine_for(code).open(code, None) as session:
        result = session.run({"data": {"n": 21}})
    assert session.ran_with.startswith("Node v")
    assert ", @openfn/runtime 1.9.5, @openfn/language-common@3.3.4" in session.ran_with
    assert (result.exit_code, result.status, result.error) == (0, "success", None)
    assert result.final_state is not None
    assert result.final_state["data"]["doubled"] == 42
    assert result.log.splitlines()[0] == f"Ran with {session.ran_with}"
    assert "compiled job saw 21" in result.log
    assert result.log.splitlines()[-1].startswith("Job succeeded")


def test_source_job_is_compiled_by_the_runner(repo: Path) -> None:
    result = run_once(code_for(repo, "source.js"), {"data": {"n": 5}})
    assert result.exit_code == 0, result.log
    assert result.final_state == {"data": {"n": 5, "tripled": 15}, "references": []}
    assert "source job saw 5" in result.log


def test_a_batched_session_runs_each_state_in_a_fresh_context_of_one_process(repo: Path) -> None:
    code = code_for(repo, "compiled.js")
    with NodeEngine(spares=False).open(code, None) as session:
        results = [session.run({"data": {"n": n}}) for n in (1, 2, 3)]
    states = [r.final_state["data"] for r in results if r.final_state]
    assert [s["doubled"] for s in states] == [2, 4, 6]
    # globalThis of one run is not the next run's: each got a new vm context...
    assert [s["runs"] for s in states] == [1, 1, 1]
    # ...in the same Node process, which is gone once the session closed.
    assert len({s["pid"] for s in states}) == 1
    assert not alive(states[0]["pid"])


def test_the_initial_state_gets_the_python_engines_defaults(repo: Path) -> None:
    result = run_once(code_for(repo, "source.js"), {"data": {"n": 1}, "extra": [1, 2]})
    assert result.final_state == {"data": {"n": 1, "tripled": 3}, "references": [], "extra": [1, 2]}


# -- console -------------------------------------------------------------------------------------


def test_the_jobs_console_goes_to_the_run_log(repo: Path) -> None:
    result = run_once(code_for(repo, "chatty.js"))
    assert "a line from the job" in result.log
    assert "WARN: a warning from the job" in result.log


def test_console_false_silences_the_job_but_not_the_runtime(repo: Path) -> None:
    result = run_once(code_for(repo, "chatty.js", console=False))
    assert result.exit_code == 0
    assert "a line from the job" not in result.log
    assert "a warning from the job" not in result.log
    assert "Starting step chatty" in result.log
    assert "Job succeeded" in result.log


# -- outcomes ------------------------------------------------------------------------------------


def test_a_busy_loop_is_killed_at_the_timeout_and_the_next_run_gets_a_new_process(
    repo: Path,
) -> None:
    code = code_for(repo, "loop_when_asked.js", timeout=1.5)
    with NodeEngine(spares=False).open(code, None) as session:
        before = session.run({"data": {}})
        started = time.monotonic()
        looped = session.run({"data": {"loop": True}})
        took = time.monotonic() - started
        after = session.run({"data": {}})
    assert (looped.exit_code, looped.status) == (2, "killed")
    assert looped.error == "Timed out after 1.5 s"
    assert "Job killed (exit 2)" in looped.log
    assert 1.4 < took < 5
    assert before.exit_code == after.exit_code == 0
    assert before.final_state and after.final_state
    first_pid, second_pid = before.final_state["data"]["pid"], after.final_state["data"]["pid"]
    assert first_pid != second_pid
    assert not alive(first_pid)


def test_using_more_memory_than_the_limit_is_exit_134(repo: Path) -> None:
    code = code_for(repo, "allocate.js", memory_limit_mb=40)
    with NodeEngine(spares=False).open(code, None) as session:
        small = session.run({"data": {"arrays": 2}})
        huge = session.run({"data": {"arrays": 10_000}})
        again = session.run({"data": {"arrays": 2}})
    assert small.exit_code == 0, small.log
    assert (huge.exit_code, huge.status) == (134, "killed")
    assert huge.error == "Out of memory: the job used more than its limit of 40 MB and was stopped"
    assert "JavaScript heap out of memory" in huge.log
    assert "Native stack trace" not in huge.log
    assert again.exit_code == 0


def test_a_thrown_error_is_a_fail_exit_1_without_the_credential(repo: Path) -> None:
    result = run_once(code_for(repo, "throws.js"), configuration={"password": PASSWORD})
    assert (result.exit_code, result.status) == (1, "failed")
    assert result.error == "JobError: could not reach the API with ***"
    assert result.final_state is None
    assert PASSWORD not in result.log
    assert "Job failed (exit 1)" in result.log


def test_an_http_404_from_language_http_is_a_fail(repo: Path, api: FakeApi) -> None:
    code = code_for(repo, "http_get.js", HTTP)
    with NodeEngine(spares=False).open(code, {"baseUrl": api.url}) as session:
        found = session.run({"data": {"path": "/things"}})
        missing = session.run({"data": {"path": "/missing"}})
    assert found.exit_code == 0, found.log
    assert found.final_state is not None
    assert found.final_state["data"] == {"path": "/things", "ok": True}
    assert "answered 200" in found.log
    assert (missing.exit_code, missing.status) == (1, "failed")
    assert missing.error is not None and missing.error.startswith("AdaptorError: GET to ")
    assert "returned 404" in missing.error
    assert api.requests == [("GET", "/things"), ("GET", "/missing")]


def test_an_undeclared_name_is_a_crash_exit_5(repo: Path) -> None:
    result = run_once(code_for(repo, "undeclared.js"))
    assert (result.exit_code, result.status) == (5, "crashed")
    assert result.error == "RuntimeCrash: ReferenceError: notDeclaredAnywhere is not defined"
    # The runtime points at the job's own line through the compiler's source map.
    assert "2:   return notDeclaredAnywhere.value;" in result.log


def test_a_job_ending_its_process_is_exit_5_and_the_session_goes_on(repo: Path) -> None:
    code = code_for(repo, "exits.js")
    with NodeEngine(spares=False).open(code, None) as session:
        first = session.run({"data": {}})
        second = session.run({"data": {}})
    assert (first.exit_code, first.status) == (5, "crashed")
    assert first.error == "The Node process exited with code 0 before the run finished"
    assert second.exit_code == 5  # a new process, the same job


def test_a_syntax_error_is_exit_10_with_the_jobs_line_and_column(repo: Path) -> None:
    code = code_for(repo, "syntax_error.js")
    with NodeEngine(spares=False).open(code, None) as session:
        results = [session.run({"data": {}}), session.run({"data": {}})]
    for result in results:
        assert (result.exit_code, result.status) == (10, "crashed")
        assert result.error == (
            "Compile error in syntax_error.js: SyntaxError: Unexpected token (line 6, column 107)"
        )
        assert "6: fn(state => {" in result.log
        assert "Job failed to load (exit 10)" in result.log


def test_an_adaptor_not_installed_cannot_start(repo: Path) -> None:
    code = code_for(repo, "compiled.js", "@openfn/language-common@1.0.404")
    with pytest.raises(CouldNotStart) as raised, NodeEngine(spares=False).open(code, None):
        pass
    message = str(raised.value)
    assert "@openfn/language-common@1.0.404 is not installed" in message
    assert "openfn-airflow adaptors install PROJECT" in message


def test_no_node_on_path_cannot_start(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code = code_for(repo, "compiled.js")
    with (
        pytest.raises(CouldNotStart, match=r"Node\.js 20 or newer.*no `node` on PATH"),
        NodeEngine(spares=False).open(code, None),
    ):
        pass


def test_node_older_than_20_cannot_start(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho v18.19.1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    node_module._node_version.cache_clear()
    code = code_for(repo, "compiled.js")
    with (
        pytest.raises(CouldNotStart, match=r"Node\.js 20 or newer; .*node is v18\.19\.1"),
        NodeEngine(spares=False).open(code, None),
    ):
        pass
    node_module._node_version.cache_clear()


# -- test mode -----------------------------------------------------------------------------------


def test_test_mode_answers_every_request_without_sending_it(repo: Path, api: FakeApi) -> None:
    code = code_for(repo, "http_get.js", HTTP, test_mode=True)
    with NodeEngine(spares=False).open(code, {"baseUrl": api.url}) as session:
        result = session.run({"data": {"path": "/missing"}})
    assert result.exit_code == 0, result.log
    assert result.final_state is not None and result.final_state["data"] == {}
    assert f"Test mode: GET {api.url}/missing not sent, answered 200 {{}}" in result.log
    assert api.requests == []


def test_test_mode_catches_node_http_and_fetch_too(
    repo: Path, api: FakeApi, tmp_path: Path
) -> None:
    job = tmp_path / "clients.js"
    job.write_text(
        textwrap.dedent(
            """
            fn(async state => {
              const host = state.constructor.constructor('return globalThis')();
              const http = host.process.getBuiltinModule('http');
              const url = state.configuration.baseUrl;
              const viaFetch = await (await host.fetch(`${url}/by-fetch`)).json();
              const viaHttp = await new Promise((resolve, reject) => {
                http.get(`${url}/by-http`, (response) => {
                  let body = '';
                  response.on('data', (c) => (body += c));
                  response.on('end', () => resolve({ status: response.statusCode, body }));
                }).on('error', reject);
              });
              return { ...state, data: { viaFetch, viaHttp } };
            });
            """
        )
    )
    result = run_once(code_for(repo, job, test_mode=True), configuration={"baseUrl": api.url})
    assert result.exit_code == 0, result.log
    assert result.final_state is not None
    assert result.final_state["data"] == {"viaFetch": {}, "viaHttp": {"status": 200, "body": "{}"}}
    assert api.requests == []
    assert f"Test mode: GET {api.url}/by-http not sent" in result.log
    # Without test mode the same job reaches the server.
    sent = run_once(code_for(repo, job), configuration={"baseUrl": api.url})
    assert sent.exit_code == 0, sent.log
    assert sorted(api.requests) == [("GET", "/by-fetch"), ("GET", "/by-http")]


# -- state rules ---------------------------------------------------------------------------------


def test_configuration_is_removed_and_its_values_masked_everywhere(
    repo: Path, api: FakeApi
) -> None:
    configuration = {"username": "api-user-7", "password": PASSWORD, "baseUrl": api.url}
    result = run_once(code_for(repo, "leaks_configuration.js"), configuration=configuration)
    assert result.exit_code == 0, result.log
    stored = json.dumps(result.final_state)
    for secret in ("api-user-7", PASSWORD):
        assert secret not in stored
        assert secret not in result.log
    assert result.final_state is not None
    assert "configuration" not in result.final_state
    assert result.final_state["references"] == [{}]
    assert result.final_state["data"]["nested"] == [{"deep": {"value": "Bearer ***"}}]
    assert result.final_state["data"]["***"] == "as a key"
    assert "the password is *** and the user ***" in result.log


def test_lines_forged_on_the_runners_channel_are_ignored(repo: Path) -> None:
    result = run_once(code_for(repo, "forges.js"))
    assert result.exit_code == 0, result.log
    assert result.final_state == {"data": {"honest": True}, "references": []}
    assert "Ignored a line on the runner's channel that the runner did not write" in result.log
    assert "written to stdout directly" in result.log
    assert "written to file descriptor 1" in result.log


# -- the process dies with its task --------------------------------------------------------------


def _node_children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_node_dies_when_the_task_process_is_killed(repo: Path, tmp_path: Path) -> None:
    # A task killed outright (SIGKILL: no close, no finally) while its job spins.
    script = textwrap.dedent(
        f"""
        import sys, threading
        from openfn_airflow.runtime.engines import JobCode
        from openfn_airflow.runtime.node import NodeEngine
        code = JobCode(file={str(JOBS / "loop_when_asked.js")!r}, adaptors=({COMMON!r},),
                       adaptors_path={str(repo)!r})
        with NodeEngine(spares=False).open(code, None) as session:
            print("open", flush=True)
            session.run({{"data": {{"loop": True}}}})
        """
    )
    task = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[3],
    )
    try:
        assert task.stdout is not None
        assert task.stdout.readline().strip() == "open"
        children = _node_children(task.pid)
        assert len(children) == 1
        time.sleep(0.3)  # the job is in its loop
        task.send_signal(signal.SIGKILL)
        task.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(children[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(children[0])
    finally:
        task.kill()
        task.wait()
