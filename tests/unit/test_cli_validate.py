"""``openfn-airflow validate PATH``: ``ok`` or every problem with its location, and the exit code."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from openfn_airflow.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "dags" / "example"
CLI = Path(sys.executable).parent / "openfn-airflow"

VALID = """
    project: good
    triggers:
      form: {criteria: {form: intake}}
    jobs:
      intake: {file: jobs/echo.py, trigger: form}
      nightly: {file: jobs/echo.py, trigger: {cron: "0 3 * * *"}}
"""

BROKEN = """
    project: broken
    triggers:
      form: {criteria: {form: x}}
      after-ghost: {success: ghost}
      after-a: {success: loop-a}
      after-b: {success: loop-b}
    jobs:
      fine: {file: jobs/echo.py, trigger: form}
      nightly: {file: jobs/echo.py, trigger: {cron: "0 3 * *"}}
      missing: {file: jobs/missing.py, trigger: form}
      orphan: {file: jobs/echo.py, trigger: after-ghost}
      loop-a: {file: jobs/echo.py, trigger: after-b}
      loop-b: {file: jobs/echo.py, trigger: after-a}
"""


def write_project(root: Path, spec: str, files: tuple[str, ...] = ("jobs/echo.py",)) -> Path:
    """Write ``root/project.yaml`` and the (empty) job files; return the spec path."""
    root.mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# a job\n")
    path = root / "project.yaml"
    path.write_text(textwrap.dedent(spec))
    return path


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run ``openfn-airflow validate path``; return its exit code and its output lines."""
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def test_valid_spec_prints_ok_and_exits_0(tmp_path, capsys):
    spec = write_project(tmp_path / "good", VALID)
    code, lines = validate(spec, capsys)
    assert code == 0
    assert lines == [f"{spec}: ok"]


def test_folder_holding_a_valid_spec_prints_ok(tmp_path, capsys):
    spec = write_project(tmp_path / "good", VALID)
    code, lines = validate(tmp_path / "good", capsys)
    assert code == 0
    assert lines == [f"{spec}: ok"]


def test_the_example_project_is_valid(capsys):
    code, lines = validate(EXAMPLE, capsys)
    assert code == 0
    assert lines == [f"{EXAMPLE / 'project.yaml'}: ok"]


def test_broken_spec_prints_every_problem_with_its_location_and_exits_1(tmp_path, capsys):
    spec = write_project(tmp_path / "broken", BROKEN)
    code, lines = validate(spec, capsys)
    assert code == 1
    assert lines[0] == f"{spec}: 4 problem(s)"
    problems = lines[1:]
    assert len(problems) == 4
    for location, words in (
        ("triggers.after-ghost.success", 'unknown job "ghost"'),
        ("jobs.nightly.trigger.cron", "5 fields expected"),
        ("jobs.missing.file", "jobs/missing.py does not exist"),
        ("jobs.loop-a.trigger", "cycle: loop-a -> loop-b -> loop-a"),
    ):
        [line] = [line for line in problems if line.startswith(f"  - {location}: ")]
        assert words in line
        assert "(hint: " in line


def test_a_job_on_an_archived_job_is_a_note_and_the_spec_is_ok(tmp_path, capsys):
    spec = write_project(
        tmp_path / "shelf",
        """
        project: shelf
        triggers:
          old-failed: {failure: old}
        jobs:
          old: {file: jobs/gone.py, archived: true}
          alert: {file: jobs/echo.py, trigger: old-failed}
        """,
    )
    code, lines = validate(spec, capsys)
    assert code == 0
    assert lines == [
        f"{spec}: ok",
        '  note: triggers.old-failed.failure: job "old" is archived, so this trigger never '
        "fires (hint: alert can still be run by hand; to chain again, remove archived: true "
        "from old, or give alert another trigger)",
    ]


def test_notes_are_printed_after_the_problems(tmp_path, capsys):
    spec = write_project(
        tmp_path / "shelf",
        """
        project: shelf
        jobs:
          old: {file: jobs/echo.py, archived: maybe}
          older: {file: jobs/echo.py, archived: true}
          alert: {file: jobs/echo.py, trigger: {failure: older}}
        """,
    )
    code, lines = validate(spec, capsys)
    assert code == 1
    assert lines[0] == f"{spec}: 1 problem(s)"
    assert lines[1].startswith('  - jobs.old.archived: expected true or false, got "maybe"')
    assert lines[2].startswith("  note: jobs.alert.trigger.failure: ")
    assert len(lines) == 3


def test_folder_with_two_projects_reports_each(tmp_path, capsys):
    good = write_project(tmp_path / "good", VALID)
    broken = write_project(tmp_path / "broken", BROKEN)
    code, lines = validate(tmp_path, capsys)
    assert code == 1
    assert f"{good}: ok" in lines
    assert f"{broken}: 4 problem(s)" in lines
    assert sum(line.startswith("  - ") for line in lines) == 4


def test_folder_with_two_valid_projects_exits_0(tmp_path, capsys):
    first = write_project(tmp_path / "a", VALID)
    second = write_project(tmp_path / "b", VALID.replace("project: good", "project: other"))
    code, lines = validate(tmp_path, capsys)
    assert code == 0
    assert lines == [f"{first}: ok", f"{second}: ok"]


def test_two_projects_with_one_name_are_reported(tmp_path, capsys):
    write_project(tmp_path / "a", VALID)
    second = write_project(tmp_path / "b", VALID)
    code, lines = validate(tmp_path, capsys)
    assert code == 1
    assert f"{second}: 1 problem(s)" in lines
    assert any('the project name "good" is also used by' in line for line in lines)


def test_spec_that_is_not_yaml_is_reported_with_its_line(tmp_path, capsys):
    root = tmp_path / "garbled"
    root.mkdir()
    (root / "project.yaml").write_text("project: garbled\njobs: [unclosed\n  - {a:\n")
    code, lines = validate(root, capsys)
    assert code == 1
    assert any("not valid YAML" in line and "line 3" in line for line in lines)


def test_folder_without_a_spec_exits_non_zero_and_says_so(tmp_path, capsys):
    (tmp_path / "jobs").mkdir()
    code, lines = validate(tmp_path, capsys)
    assert code != 0
    assert lines[0].startswith(f"{tmp_path}: ")
    assert "no project.yaml" in "\n".join(lines)


def test_path_that_does_not_exist_exits_non_zero_and_says_so(tmp_path, capsys):
    code, lines = validate(tmp_path / "nowhere", capsys)
    assert code != 0
    assert lines[0].startswith(f"{tmp_path / 'nowhere'}: ")
    assert "does not exist" in "\n".join(lines)


def test_project_name_too_long_for_a_dag_tag_is_a_problem(tmp_path, capsys):
    spec = write_project(tmp_path / "long", VALID.replace("project: good", f"project: {'p' * 95}"))
    code, lines = validate(spec, capsys)
    assert code == 1
    assert any(line.startswith("  - project: ") for line in lines)


def test_console_script_prints_problems_and_exits_1(tmp_path):
    write_project(tmp_path / "good", VALID)
    broken = write_project(tmp_path / "broken", BROKEN)
    result = subprocess.run(
        [str(CLI), "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert f"{broken}: 4 problem(s)" in result.stdout
    assert "  - jobs.nightly.trigger.cron: " in result.stdout
    assert result.stderr == ""
