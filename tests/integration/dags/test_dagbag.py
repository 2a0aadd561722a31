"""What Airflow's DagBag finds in a DAGs folder: one DAG per job, scheduled as its spec says.

These parse the real DAG files (``dags/openfn_jobs.py`` and ``dags/openfn_spec_check.py``) the way
the dag-processor does, so they check what a user sees in the UI: the DAG list, schedules, assets,
tasks, tags and the "DAG import errors" banner.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronTriggerTimetable, PartitionedAssetTimetable, TriggerRule

from openfn_airflow.dags.factory import TIMEOUT_GRACE_SECONDS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
REPO_DAGS = REPO / "dags"
EXAMPLE_SPEC = REPO_DAGS / "example" / "project.yaml"
DAG_FILES = ("openfn_jobs.py", "openfn_spec_check.py", ".airflowignore")


def dag_id(job: str, project: str = "example") -> str:
    return f"openfn__{project}__{job}"


def loose(uri: str) -> str:
    """Compare asset URIs the way Airflow may normalise them (case, trailing slash)."""
    return uri.rstrip("/").lower()


def asset_uris(condition) -> set[str]:
    """Every asset URI of a schedule's asset condition (an Asset, AssetAll or AssetAny)."""
    if condition is None:
        return set()
    if hasattr(condition, "uri"):
        return {loose(condition.uri)}
    return set().union(*(asset_uris(item) for item in condition.objects))


def scheduled_on(dag) -> set[str]:
    return asset_uris(getattr(dag.timetable, "asset_condition", None))


def example_jobs() -> dict[str, dict]:
    return yaml.safe_load(EXAMPLE_SPEC.read_text())["jobs"]


def dags_folder(tmp_path: Path, projects: dict[str, str], job_files: dict[str, str]) -> Path:
    """A DAGs folder holding copies of the repo's DAG files and one folder per project.

    ``projects`` maps a folder name to its project.yaml text; every project folder gets the
    ``job_files`` (path relative to the project -> source).
    """
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in DAG_FILES:
        shutil.copy(REPO_DAGS / name, folder / name)
    for project, spec in projects.items():
        root = folder / project
        root.mkdir()
        (root / "project.yaml").write_text(textwrap.dedent(spec))
        for relative, source in job_files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(source)
    return folder


def only_import_error(bag: DagBag) -> tuple[str, str]:
    assert len(bag.import_errors) == 1, bag.import_errors
    [(path, text)] = bag.import_errors.items()
    return path, text


JOB_FILES = {"jobs/echo.py": "from openfn_airflow.runtime.operations import fn\n"}


@pytest.fixture(scope="module")
def example_bag() -> DagBag:
    return DagBag(REPO_DAGS)


@pytest.fixture(scope="module")
def session_bag() -> DagBag:
    """The session DAGs folder: the repo's DAG files, the example and the test projects."""
    return DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


# --- the repo's dags/ folder -------------------------------------------------------------------


def test_repo_dags_folder_has_no_import_errors(example_bag):
    assert example_bag.import_errors == {}


def test_repo_dags_folder_holds_one_dag_per_live_example_job_and_the_maintenance_dag(example_bag):
    live = [name for name, job in example_jobs().items() if not job.get("archived")]
    assert len(live) >= 6
    assert sorted(example_bag.dag_ids) == sorted(
        [*(dag_id(job) for job in live), "openfn__maintenance"]
    )


def test_cron_job_runs_on_its_cron_in_its_timezone(example_bag):
    trigger = yaml.safe_load(EXAMPLE_SPEC.read_text())["triggers"]["every-5-min"]
    timetable = example_bag.get_dag(dag_id("sync-cases")).timetable
    assert isinstance(timetable, CronTriggerTimetable)
    assert timetable.expression == trigger["cron"]
    assert str(timetable.timezone) == trigger["timezone"]


def test_a_cron_job_runs_one_at_a_time_unless_its_spec_says_otherwise(example_bag, session_bag):
    """Each cron run starts from the cursor its previous run left: two at once would share it."""
    from airflow.configuration import conf

    counter = session_bag.get_dag(dag_id("counter", "core"))
    assert counter.max_active_runs == 1
    intake = session_bag.get_dag(dag_id("intake", "core"))
    assert intake.max_active_runs == conf.getint("core", "max_active_runs_per_dag")
    assert example_bag.get_dag(dag_id("sync-cases")).max_active_runs == 1  # concurrency: 1


def test_cron_timezone_other_than_utc_is_kept(tmp_path):
    folder = dags_folder(
        tmp_path,
        {
            "nairobi": """
                project: nairobi
                jobs:
                  morning:
                    file: jobs/echo.py
                    trigger: {cron: "0 6 * * 1-5", timezone: Africa/Nairobi}
            """
        },
        JOB_FILES,
    )
    bag = DagBag(folder)
    assert bag.import_errors == {}
    timetable = bag.get_dag(dag_id("morning", "nairobi")).timetable
    assert isinstance(timetable, CronTriggerTimetable)
    assert timetable.expression == "0 6 * * 1-5"
    assert str(timetable.timezone) == "Africa/Nairobi"


def test_per_message_job_runs_once_per_message_of_its_trigger_asset(example_bag):
    dag = example_bag.get_dag(dag_id("register-patient"))
    assert isinstance(dag.timetable, PartitionedAssetTimetable)
    assert scheduled_on(dag) == {loose("openfn://example/triggers/patient-form")}


def test_batched_job_has_a_plain_asset_schedule(session_bag):
    dag = session_bag.get_dag(dag_id("bulk", "core"))
    assert not isinstance(dag.timetable, PartitionedAssetTimetable)
    assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"
    assert scheduled_on(dag) == {loose("openfn://core/triggers/bulk")}


def test_the_example_message_jobs_run_auto_the_default(example_bag):
    """An auto job is partition-aware like a per-message one: the dispatcher picks one DAG run
    per message, or several messages per DAG run when they wait."""
    for name in ("register-patient", "store-readings", "forward-visit"):
        assert "runs" not in example_jobs()[name], name
        dag = example_bag.get_dag(dag_id(name))
        assert isinstance(dag.timetable, PartitionedAssetTimetable), name
        assert dag.get_task("run").runs == "auto", name


@pytest.mark.parametrize(
    ("job", "outcome"), [("welcome-patient", "success"), ("alert-on-failure", "failure")]
)
def test_success_and_failure_jobs_listen_to_the_upstream_outcome(example_bag, job, outcome):
    dag = example_bag.get_dag(dag_id(job))
    assert isinstance(dag.timetable, PartitionedAssetTimetable)
    assert scheduled_on(dag) == {loose(f"openfn://example/jobs/register-patient/{outcome}")}


def test_job_with_autoprocess_off_has_no_schedule(example_bag):
    assert example_jobs()["replay-reading"]["autoprocess"] is False
    dag = example_bag.get_dag(dag_id("replay-reading"))
    assert dag.schedule is None
    assert type(dag.timetable).__name__ == "NullTimetable"
    assert scheduled_on(dag) == set()


def test_upstream_job_emits_its_success_and_failure_assets(example_bag):
    dag = example_bag.get_dag(dag_id("register-patient"))
    assert sorted(dag.task_ids) == ["emit_failure", "emit_success", "run"]
    run = dag.get_task("run")
    assert run.downstream_task_ids == {"emit_success", "emit_failure"}
    assert run.outlets == []
    for outcome in ("success", "failure"):
        emit = dag.get_task(f"emit_{outcome}")
        # An auto DAG run may hold runs that succeeded and runs that failed: both emits run,
        # each skipped when none ended so, and one event stands for all of them (the jobs
        # downstream are auto too).
        # Teardowns (their upstream done, as ALL_DONE), which Airflow leaves out of the DAG
        # run's state: a DAG run whose run failed is failed, as a per-message one.
        assert emit.is_teardown is True
        assert emit.trigger_rule == TriggerRule.ALL_DONE_SETUP_SUCCESS
        assert emit.on_failure_fail_dagrun is False
        assert emit.fold is True
        assert {loose(asset.uri) for asset in emit.outlets} == {
            loose(f"openfn://example/jobs/register-patient/{outcome}")
        }


def test_a_follower_job_is_started_before_new_runs_of_the_job_before_it(example_bag):
    # welcome-patient runs on register-patient's success: with task slots short, Airflow starts
    # queued tasks by priority, so the chain's later tasks go first and a burst drains as it goes.
    first = example_bag.get_dag(dag_id("register-patient"))
    follower = example_bag.get_dag(dag_id("welcome-patient"))
    order = [
        first.get_task("run"),
        first.get_task("emit_success"),
        follower.get_task("run"),
    ]
    assert all(str(task.weight_rule) in ("absolute", "WeightRule.ABSOLUTE") for task in order)
    weights = [task.priority_weight for task in order]  # absolute: what the scheduler ranks by
    assert weights == sorted(set(weights)), weights


def test_job_nobody_listens_to_has_only_the_run_task(example_bag):
    assert example_bag.get_dag(dag_id("sync-cases")).task_ids == ["run"]


def test_every_dag_is_tagged_owned_documented_and_runnable_by_hand(example_bag):
    jobs = example_jobs()
    for name, job in jobs.items():
        dag = example_bag.get_dag(dag_id(name))
        assert {"openfn", "project:example"} <= set(dag.tags), name
        assert dag.owner == job.get("owner", "openfn"), name
        source = (EXAMPLE_SPEC.parent / job["file"]).read_text()
        assert source.strip() in dag.doc_md, name
        assert dag.is_paused_upon_creation is False, name
        assert {"message_id", "state"} <= set(dag.params), name
        assert dag.params["message_id"] is None and dag.params["state"] is None, name


def test_concurrency_is_max_active_runs(example_bag):
    assert example_jobs()["sync-cases"]["concurrency"] == 1
    assert example_bag.get_dag(dag_id("sync-cases")).max_active_runs == 1


def test_run_task_times_out_after_the_job_timeout_plus_a_grace(tmp_path, example_bag):
    folder = dags_folder(
        tmp_path,
        {
            "timed": """
                project: timed
                triggers:
                  form: {criteria: {form: x}}
                jobs:
                  one-each: {file: jobs/echo.py, trigger: form, runs: per-message, timeout: 60s}
                  per-success: {file: jobs/echo.py, trigger: {success: one-each}, runs: per-message}
            """
        },
        JOB_FILES,
    )
    bag = DagBag(folder)
    assert bag.import_errors == {}
    dag = bag.get_dag(dag_id("one-each", "timed"))
    assert TIMEOUT_GRACE_SECONDS > 0
    assert dag.get_task("run").execution_timeout == dt.timedelta(seconds=60 + TIMEOUT_GRACE_SECONDS)
    assert dag.get_task("emit_success").trigger_rule == TriggerRule.ALL_SUCCESS
    assert dag.get_task("emit_success").fold is False
    # An auto job's DAG run may run many messages, each with the job's own timeout (exit 2).
    assert example_jobs()["register-patient"]["timeout"] == "60s"
    auto = example_bag.get_dag(dag_id("register-patient")).get_task("run")
    assert auto.execution_timeout is None


def test_switched_off_job_is_paused_on_creation_and_the_others_are_not(session_bag):
    assert session_bag.import_errors == {}
    assert session_bag.get_dag(dag_id("switched-off", "core")).is_paused_upon_creation is True
    assert session_bag.get_dag(dag_id("intake", "core")).is_paused_upon_creation is False


def test_session_folder_holds_the_example_and_the_test_projects(session_bag):
    assert dag_id("register-patient") in session_bag.dag_ids
    assert dag_id("switched-off", "core") in session_bag.dag_ids


# --- broken specs ------------------------------------------------------------------------------

VALID_PROJECT = """
    project: good
    triggers:
      form: {criteria: {form: intake}}
    jobs:
      intake: {file: jobs/echo.py, trigger: form}
      after-intake: {file: jobs/echo.py, trigger: {success: intake}}
"""

BROKEN_PROJECT = """
    project: broken
    triggers:
      form: {criteria: {form: x}}
      after-ghost: {success: ghost}
      after-a: {success: loop-a}
      after-b: {success: loop-b}
    jobs:
      fine: {file: jobs/echo.py, trigger: form}
      manual: {file: jobs/echo.py}
      nightly: {file: jobs/echo.py, trigger: {cron: "0 3 * *"}}
      missing: {file: jobs/missing.py, trigger: form}
      orphan: {file: jobs/echo.py, trigger: after-ghost}
      loop-a: {file: jobs/echo.py, trigger: after-b}
      loop-b: {file: jobs/echo.py, trigger: after-a}
"""


def test_broken_spec_is_one_import_error_listing_every_problem(tmp_path):
    folder = dags_folder(tmp_path, {"good": VALID_PROJECT, "broken": BROKEN_PROJECT}, JOB_FILES)
    bag = DagBag(folder)
    path, text = only_import_error(bag)
    assert Path(path).name == "openfn_spec_check.py"
    spec = str(folder / "broken" / "project.yaml")
    for location, words in (
        ("triggers.after-ghost.success", '"ghost"'),
        ("jobs.nightly.trigger.cron", '"0 3 * *"'),
        ("jobs.missing.file", "jobs/missing.py"),
        ("jobs.loop-a.trigger", "cycle"),
    ):
        [line] = [line for line in text.splitlines() if f"{spec}: {location}:" in line]
        assert words in line
    assert "good/project.yaml" not in text


def test_broken_spec_does_not_hide_valid_jobs(tmp_path):
    folder = dags_folder(tmp_path, {"good": VALID_PROJECT, "broken": BROKEN_PROJECT}, JOB_FILES)
    bag = DagBag(folder)
    assert sorted(bag.dag_ids) == sorted(
        [
            dag_id("intake", "good"),
            dag_id("after-intake", "good"),
            dag_id("fine", "broken"),
            dag_id("manual", "broken"),
        ]
    )
    # The valid jobs' DAGs come from the jobs file, which has no import error of its own.
    assert {Path(bag.get_dag(d).fileloc).name for d in bag.dag_ids} == {"openfn_jobs.py"}


def test_spec_that_is_not_yaml_is_an_import_error_and_hides_no_other_project(tmp_path):
    folder = dags_folder(
        tmp_path,
        {"good": VALID_PROJECT, "garbled": "project: garbled\njobs: [unclosed\n  - {a:\n"},
        JOB_FILES,
    )
    bag = DagBag(folder)
    path, text = only_import_error(bag)
    assert Path(path).name == "openfn_spec_check.py"
    [line] = [line for line in text.splitlines() if "garbled/project.yaml" in line]
    assert "not valid YAML" in line and "line 3" in line
    assert sorted(bag.dag_ids) == [dag_id("after-intake", "good"), dag_id("intake", "good")]


def test_archived_jobs_are_not_generated(tmp_path):
    folder = dags_folder(
        tmp_path,
        {
            "arch": """
                project: arch
                triggers:
                  form: {criteria: {form: x}}
                jobs:
                  live: {file: jobs/echo.py, trigger: form}
                  retired: {file: jobs/gone.py, trigger: form, archived: true}
                  retired-cron:
                    file: jobs/echo.py
                    trigger: {cron: "0 * * * *"}
                    archived: true
            """
        },
        JOB_FILES,
    )
    bag = DagBag(folder)
    assert bag.import_errors == {}
    assert bag.dag_ids == [dag_id("live", "arch")]


def test_two_projects_with_one_name_are_an_import_error(tmp_path):
    folder = dags_folder(
        tmp_path,
        {
            "first": """
                project: same
                jobs:
                  shared: {file: jobs/echo.py, owner: first-team}
            """,
            "second": """
                project: same
                jobs:
                  shared: {file: jobs/echo.py, owner: second-team}
            """,
        },
        JOB_FILES,
    )
    bag = DagBag(folder)
    path, text = only_import_error(bag)
    assert Path(path).name == "openfn_spec_check.py"
    assert 'the project name "same" is also used by' in text


def test_a_task_process_builds_only_its_own_dag(monkeypatch):
    """Airflow names the DAG a task process parses for; the loader builds just that one."""
    from openfn_airflow.dags.loader import load_dags

    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "openfn__example__sync-cases")
    assert list(load_dags(REPO / "dags")) == ["openfn__example__sync-cases"]
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "some_other_dag")
    live = [name for name, job in example_jobs().items() if not job.get("archived")]
    assert len(load_dags(REPO / "dags")) == len(live)
