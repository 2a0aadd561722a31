from __future__ import annotations

import json
import logging
import sys
import threading
import time

import pytest

from openfn_airflow.runtime import ExitCode, RunResult, fn, log, run_job


def in_thread(func):
    """Call func in a non-main thread and return its result."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", func()))
    thread.start()
    thread.join(30)
    return box["result"]


class TestSuccess:
    def test_exit_0_with_final_state_and_log(self):
        result = run_job(
            [fn(lambda s: {**s, "data": {"n": s["data"]["n"] + 1}})], {"data": {"n": 1}}
        )
        assert isinstance(result, RunResult)
        assert (result.exit_code, result.status, result.error) == (0, "success", None)
        assert result.final_state == {"data": {"n": 2}, "references": []}
        assert "Job succeeded" in result.log
        assert result.duration > 0

    def test_initial_state_gets_defaults_and_the_configuration(self):
        seen = {}
        run_job([fn(lambda s: seen.update(s) or s)], {"x": 1}, configuration={"token": "abcd"})
        assert seen == {"x": 1, "configuration": {"token": "abcd"}, "references": [], "data": {}}

    def test_final_state_never_holds_the_configuration(self):
        def copy_around(state):
            return {
                **state,
                "data": {"configuration": state["configuration"], "ok": 1},
                "references": [dict(state)],
            }

        result = run_job([fn(copy_around)], {}, configuration={"password": "hunter22"})
        assert result.final_state == {
            "data": {"ok": 1},
            "references": [{"references": [], "data": {}}],
        }
        assert "hunter22" not in json.dumps(result.final_state)

    def test_final_state_is_made_json_serialisable(self):
        from datetime import date

        result = run_job(
            [
                fn(
                    lambda s: {
                        **s,
                        "when": date(2024, 1, 2),
                        "ids": {1, 2} and "set",
                        (1, 2): "tuple key",
                    }
                )
            ],
            {},
        )
        assert result.exit_code == 0, result.log
        assert result.final_state["when"] == "2024-01-02"
        json.dumps(result.final_state)

    def test_a_circular_final_state_is_a_job_error(self):
        def loop(state):
            state = {**state}
            state["self"] = state
            return state

        result = run_job([fn(loop)], {})
        assert result.exit_code == 1
        assert "cannot be saved as JSON" in result.error


class TestJobErrors:
    def test_exception_in_an_operation_is_exit_1_with_job_frames_only(self, write_job):
        path = write_job(
            """
            from openfn_airflow.runtime import fn, each

            def check(state):
                if state["data"] > 1:
                    raise ValueError(f"bad item {state['data']}")
                return state

            operations = [
                fn(lambda state: {**state, "seen": True}),
                each([1, 2], fn(check)),
            ]
            """
        )
        result = run_job(path, {})
        assert (result.exit_code, result.status) == (1, "failed")
        assert result.error == "ValueError: bad item 2"
        assert result.final_state is None
        assert "Error in operation 2 of 2 (each): ValueError: bad item 2" in result.log
        assert f'File "{path}", line 6, in check' in result.log
        assert "openfn_airflow/runtime" not in result.log  # no runtime internals
        assert result.log.rstrip().endswith("Job failed (exit 1)")

    def test_an_operation_returning_none_is_explained(self):
        result = run_job([fn(lambda s: print("forgot to return"))], {})
        assert result.exit_code == 1
        assert "returned NoneType, not the state" in result.error
        assert "forgot to return" in result.log

    def test_sys_exit_in_a_job_is_a_job_error(self):
        result = run_job([fn(lambda s: sys.exit(3))], {})
        assert result.exit_code == 1
        assert result.error == "SystemExit: 3"

    def test_output_before_the_error_is_kept(self):
        def fail(state):
            print("about to fail")
            raise RuntimeError("boom")

        result = run_job([fn(fail)], {})
        assert result.log.index("about to fail") < result.log.index("RuntimeError: boom")


def sleeper(state):
    time.sleep(100)
    return state


def spinner(state):
    while True:
        pass


class TestTimeout:
    @pytest.mark.parametrize("operation", [sleeper, spinner], ids=["sleep", "busy-loop"])
    def test_main_thread(self, operation):
        started = time.monotonic()
        result = run_job([log("before"), fn(operation)], {}, timeout=0.3)
        assert time.monotonic() - started < 2
        assert (result.exit_code, result.status) == (ExitCode.TIMEOUT, "killed")
        assert result.final_state is None
        assert "before" in result.log
        assert result.log.rstrip().endswith("Timed out after 0.3 s")
        assert result.error == "Timed out after 0.3 s"

    @pytest.mark.parametrize("operation", [sleeper, spinner], ids=["sleep", "busy-loop"])
    def test_other_thread(self, operation):
        started = time.monotonic()
        result = in_thread(lambda: run_job([log("before"), fn(operation)], {}, timeout=0.3))
        assert time.monotonic() - started < 2
        assert (result.exit_code, result.status) == (2, "killed")
        assert "before" in result.log and "Timed out after 0.3 s" in result.log

    def test_a_busy_worker_is_actually_stopped(self):
        before = set(threading.enumerate())
        in_thread(lambda: run_job([fn(spinner)], {}, timeout=0.2))
        deadline = time.monotonic() + 3
        while any(t.name == "openfn-job" for t in set(threading.enumerate()) - before):
            if time.monotonic() > deadline:
                pytest.fail("the timed-out worker is still spinning")
            time.sleep(0.02)

    def test_a_job_swallowing_the_stop_is_still_stopped(self):
        def stubborn(state):
            try:
                time.sleep(100)
            except BaseException:  # what a careless job does
                print("carrying on")
            while True:
                pass

        started = time.monotonic()
        result = run_job([fn(stubborn)], {}, timeout=0.2)
        assert result.exit_code == 2
        assert time.monotonic() - started < 2

    def test_previous_alarm_handler_is_restored(self):
        import signal

        def mine(signum, frame):
            pass

        previous = signal.signal(signal.SIGALRM, mine)
        try:
            run_job([fn(lambda s: s)], {}, timeout=5)
            assert signal.getsignal(signal.SIGALRM) is mine
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        finally:
            signal.signal(signal.SIGALRM, previous)

    def test_fast_job_with_a_timeout_succeeds(self):
        assert run_job([fn(lambda s: s)], {}, timeout=5).exit_code == 0
        assert in_thread(lambda: run_job([fn(lambda s: s)], {}, timeout=5)).exit_code == 0


class TestLoadErrors:
    def test_syntax_error(self, write_job):
        path = write_job("operations = [\n    fn(lambda s: s\n")
        result = run_job(path, {})
        assert (result.exit_code, result.status) == (10, "crashed")
        assert f"{path}, line 2: SyntaxError:" in result.log
        assert result.error.startswith("JobLoadError: ")

    def test_bad_import(self, write_job):
        path = write_job(
            "import os\nfrom openfn_airflow.runtime import no_such_helper\noperations = []\n"
        )
        result = run_job(path, {})
        assert result.exit_code == 10
        assert f"{path}, line 2: ImportError: cannot import name 'no_such_helper'" in result.log

    def test_missing_module(self, write_job):
        result = run_job(write_job("import not_a_module_xyz\noperations = []\n"), {})
        assert result.exit_code == 10
        assert "ModuleNotFoundError: No module named 'not_a_module_xyz'" in result.log

    def test_error_at_import_time(self, write_job):
        result = run_job(write_job("x = 1\nraise RuntimeError('setup failed')\n"), {})
        assert result.exit_code == 10
        assert "line 2: RuntimeError: setup failed" in result.log

    def test_missing_operations(self, write_job):
        result = run_job(write_job("steps = []\n"), {})
        assert result.exit_code == 10
        assert "no module-level `operations` list" in result.log

    def test_operations_not_a_list(self, write_job):
        path = write_job("from openfn_airflow.runtime import fn\n\noperations = fn(lambda s: s)\n")
        result = run_job(path, {})
        assert result.exit_code == 10
        assert (
            f"{path}, line 3: `operations` must be a list of operations, got function" in result.log
        )

    def test_an_item_that_is_not_callable(self, write_job):
        result = run_job(write_job("operations = [lambda s: s, 'get(/x)']\n"), {})
        assert result.exit_code == 10
        assert "operations[1] is a str ('get(/x)'), not an operation" in result.log

    def test_a_list_job_is_checked_the_same_way(self):
        assert run_job([fn(lambda s: s), 42], {}).exit_code == 10

    def test_missing_file(self, tmp_path):
        result = run_job(tmp_path / "nope.py", {})
        assert result.exit_code == 10
        assert "cannot read the job file" in result.log


def test_unexpected_runtime_failure_is_exit_5():
    result = run_job([fn(lambda s: s)], ["not", "a", "dict"])  # type: ignore[arg-type]
    assert (result.exit_code, result.status) == (5, "crashed")
    assert result.error.startswith("Unexpected runtime error:")


class TestConsole:
    def test_prints_stderr_log_and_logging_reach_log_and_echo(self):
        echoed = []

        def noisy(state):
            print("printed", 1)
            sys.stderr.write("to stderr\n")
            sys.stdout.write("partial ")
            sys.stdout.write("line\n")
            logging.getLogger().warning("root warning")
            logging.getLogger("job.helper").error("named error")
            print("no newline at the end", end="")
            return state

        result = run_job([fn(noisy), log("via log()")], {}, echo=echoed.append)
        expected = [
            "printed 1",
            "to stderr",
            "partial line",
            "WARNING: root warning",
            "ERROR job.helper: named error",
            "no newline at the end",
            "via log()",
        ]
        assert result.log.splitlines()[: len(expected)] == expected
        assert echoed == result.log.splitlines()

    def test_captured_output_does_not_reach_the_real_streams(self, capsys):
        run_job([fn(lambda s: print("inside the job") or s)], {})
        print("outside")
        captured = capsys.readouterr()
        assert "inside the job" not in captured.out
        assert "outside" in captured.out

    def test_console_false_keeps_job_output_out_of_log_and_echo(self, capsys):
        echoed = []

        def noisy(state):
            print("secret business")
            logging.getLogger().warning("also hidden")
            return state

        result = run_job([fn(noisy), log("hidden too")], {}, console=False, echo=echoed.append)
        for text in (result.log, "\n".join(echoed), capsys.readouterr().out):
            assert "secret business" not in text
            assert "also hidden" not in text
            assert "hidden too" not in text
        assert "Job succeeded" in result.log
        assert echoed == result.log.splitlines()

    def test_console_false_still_shows_runtime_lines_on_failure(self):
        def fail(state):
            print("hidden")
            raise KeyError("missing")

        result = run_job([fn(fail)], {}, console=False)
        assert "hidden" not in result.log
        assert "KeyError: 'missing'" in result.log

    def test_logging_records_from_a_run_stay_out_of_other_handlers(self, caplog):
        with caplog.at_level(logging.INFO):
            run_job([fn(lambda s: logging.getLogger().warning("only in the run log") or s)], {})
            logging.getLogger().warning("outside any run")
        messages = [r.getMessage() for r in caplog.records]
        assert "outside any run" in messages
        assert "only in the run log" not in messages

    def test_an_echo_that_logs_does_not_loop(self):
        task_log = logging.getLogger("airflow.task.fake")
        result = run_job([log("hello")], {}, echo=task_log.info)
        assert result.log.splitlines()[0] == "hello"

    def test_concurrent_runs_keep_their_own_output(self):
        results = {}

        def job(name):
            def talk(state):
                for i in range(50):
                    print(f"{name} {i}")
                    time.sleep(0)
                return state

            results[name] = run_job([fn(talk)], {})

        threads = [threading.Thread(target=job, args=(n,)) for n in ("a", "b", "c")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, result in results.items():
            lines = [line for line in result.log.splitlines() if not line.startswith("Job")]
            assert lines == [f"{name} {i}" for i in range(50)]


class TestSecrets:
    CONFIG = {
        "username": "alice-admin",
        "password": 'p@ss"word',
        "nested": {"apiKey": "k-123456"},
        "pin": "123",
    }

    def test_secrets_never_reach_the_log_or_echo(self):
        echoed = []

        def leak(state):
            print(state["configuration"])
            print(json.dumps(state["configuration"]))
            logging.getLogger().warning("key=%s", state["configuration"]["nested"]["apiKey"])
            raise RuntimeError(f"failed for {state['configuration']['password']}")

        result = run_job([fn(leak)], {}, configuration=self.CONFIG, echo=echoed.append)
        for text in (result.log, "\n".join(echoed), result.error):
            for secret in ("alice-admin", 'p@ss"word', 'p@ss\\"word', "k-123456"):
                assert secret not in text
        assert "***" in result.log
        assert result.error == "RuntimeError: failed for ***"
        assert "'pin': '123'" in result.log  # shorter than 4 characters: not treated as a secret


class TestJobFiles:
    def test_example_job_from_the_design(self, write_job, api):
        import httpx

        api.reply = lambda r: httpx.Response(
            200,
            json={"data": {"items": [{"id": "a"}, {"id": "b"}]}}
            if r.method == "GET"
            else {"synced": True},
        )
        path = write_job(
            """
            from openfn_airflow.runtime import fn, each, data_value, field, fields, cursor
            from openfn_airflow.runtime.adaptors.http import get, post

            operations = [
                get("/patients", query={"since": lambda state: state.get("cursor", "2020-01-01")}),
                each("$.data.data.items[*]", post("/sync", lambda state: {"id": data_value("id")(state)})),
                cursor("now"),
            ]
            """
        )
        result = run_job(
            path,
            {"cursor": "2024-01-01"},
            configuration={"baseUrl": "https://h.example"},
            transport=api.transport,
        )
        assert result.exit_code == 0, result.log
        assert [(r.method, str(r.url)) for r in api.requests] == [
            ("GET", "https://h.example/patients?since=2024-01-01"),
            ("POST", "https://h.example/sync"),
            ("POST", "https://h.example/sync"),
        ]
        assert result.final_state["cursor"] > "2024"

    def test_each_load_is_a_fresh_module_and_edits_are_picked_up(self, write_job):
        path = write_job(
            """
            from openfn_airflow.runtime import fn
            calls = []
            def remember(state):
                calls.append(1)
                return {**state, "calls": len(calls), "version": 1}
            operations = [fn(remember)]
            """
        )
        assert run_job(path, {}).final_state["calls"] == 1
        assert (
            run_job(path, {}).final_state["calls"] == 1
        )  # module globals do not leak between runs
        time.sleep(0.01)
        path.write_text(path.read_text().replace('"version": 1', '"version": 22'))
        assert run_job(path, {}).final_state["version"] == 22

    def test_compiled_code_is_cached(self, write_job):
        from openfn_airflow.runtime import job_files

        path = write_job("operations = []\n")
        run_job(path, {})
        cached = job_files._compiled[str(path)]
        assert run_job(path, {}).exit_code == 0
        assert job_files._compiled[str(path)] is cached


class TestTimeoutInsideOperations:
    def test_async_operation(self):
        import asyncio

        async def forever(state):
            await asyncio.sleep(100)
            return state

        started = time.monotonic()
        result = run_job([forever], {}, timeout=0.3)
        assert result.exit_code == 2
        assert time.monotonic() - started < 2

    def test_a_later_run_is_unaffected(self):
        run_job([fn(sleeper)], {}, timeout=0.1)
        time.sleep(0.3)  # past the retry interval of the old alarm
        assert run_job([fn(lambda s: s)], {}).exit_code == 0


def test_a_broken_echo_does_not_break_the_run():
    def echo(line):
        raise OSError("log sink gone")

    result = run_job([log("hello")], {}, echo=echo)
    assert result.exit_code == 0
    assert "hello" in result.log


def test_a_job_printing_too_much_is_truncated_not_unbounded():
    from openfn_airflow.runtime.console import Console

    console = Console(max_chars=100)
    for i in range(50):
        console.job(f"line {i}")
    console.runtime("Job succeeded")
    lines = console.text().splitlines()
    assert lines[-2] == "[log truncated: the job printed more than 100 characters]"
    assert lines[-1] == "Job succeeded"
    assert len(console.text()) < 200


def hog(state):
    """Keep 8 MB blocks until memory runs out."""
    blocks = []
    while True:
        blocks.append(bytearray(8 * 1024 * 1024))


class TestMemoryLimit:
    def test_a_job_over_its_memory_limit_is_killed_with_exit_134(self):
        import resource

        before = resource.getrlimit(resource.RLIMIT_AS)
        result = run_job([fn(lambda s: s), fn(hog)], {}, memory_limit_mb=64)
        assert (result.exit_code, result.status) == (ExitCode.OUT_OF_MEMORY, "killed")
        assert (
            result.error
            == "Out of memory: the job used more than its limit of 64 MB and was stopped"
        )
        assert "(operation 2 of 2)" in result.log and "Job killed (exit 134)" in result.log
        # The process carries on: its limit is back and the next job runs as usual.
        assert resource.getrlimit(resource.RLIMIT_AS) == before
        assert (
            run_job([fn(lambda s: {**s, "n": len(bytearray(100 * 1024 * 1024))})], {}).final_state[
                "n"
            ]
            == 100 * 1024 * 1024
        )

    def test_a_job_within_its_limit_succeeds(self):
        result = run_job(
            [fn(lambda s: {**s, "n": len(bytearray(16 * 1024 * 1024))})], {}, memory_limit_mb=256
        )
        assert result.exit_code == 0 and result.final_state["n"] == 16 * 1024 * 1024

    def test_the_limit_holds_in_a_worker_thread_with_a_timeout(self):
        result = in_thread(lambda: run_job([fn(hog)], {}, timeout=30, memory_limit_mb=64))
        assert result.exit_code == ExitCode.OUT_OF_MEMORY
