"""Bad exports give one clear error and leave nothing behind."""

from __future__ import annotations

import pytest

from openfn_airflow.imports import writer

LIGHTNING_JOB_WITHOUT_BODY = """
name: p
workflows:
  wf:
    jobs:
      fetch: {adaptor: '@openfn/language-http@7.2.10', body: ''}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: [unclosed\n", "project.yaml is not valid YAML: "),
        ("- a\n- b\n", "the file is a list, not a mapping"),
        ("", "the file is empty"),
        ("foo: 1\n", "neither an OpenFn v1 nor a Lightning project export"),
        (
            "project: p\njobs: {a: {file: jobs/a.py}}\n",
            "this is already an openfn-airflow project.yaml",
        ),
        (
            "name: p\nworkflows:\n  - id: wf\n    steps:\n      - {id: a, adaptors: [x]}\n",
            "workflows[0].steps[0].expression: the job has no code",
        ),
        (
            "name: p\nworkflows:\n  - id: wf\n    steps: {a: 1}\n",
            "workflows[0].steps: expected a list",
        ),
        (LIGHTNING_JOB_WITHOUT_BODY, "workflows.wf.jobs.fetch.body: the job has no code"),
        ("jobs:\n  a: {adaptor: language-common}\n", "jobs.a.expression: the job has no code"),
        (
            "jobs:\n  a: {expression: 'file://../secret.js', adaptor: language-common}\n",
            "jobs.a.expression: file://../secret.js is outside the export's folder",
        ),
        (
            "jobs:\n  a: {expression: 'file://missing.js', adaptor: language-common}\n",
            "jobs.a.expression: cannot read file://missing.js",
        ),
        (
            "jobs: {a: {expression: 'fn(s => s)', trigger: t}}\ntriggers: {t: {criteria: '{formID: x}'}}\n",
            "triggers.t.criteria: the message filter is not valid JSON",
        ),
    ],
)
def test_a_bad_export_is_refused_and_nothing_is_written(
    import_export, write_export, tmp_path, text, message
):
    export = write_export(text)
    result = import_export(export)

    assert result.code == 2
    assert message in result.stderr
    assert "nothing was written" in result.stderr
    assert not result.out.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["export"]  # no staging folder left


def test_a_missing_path_is_refused(import_export, tmp_path):
    result = import_export(tmp_path / "nowhere.yaml")

    assert result.code == 2
    assert "nowhere.yaml does not exist" in result.stderr


def test_a_folder_without_an_export_is_refused(import_export, tmp_path):
    (tmp_path / "empty").mkdir()
    result = import_export(tmp_path / "empty")

    assert result.code == 2
    assert "no project.yaml in" in result.stderr


def test_an_existing_output_folder_is_never_overwritten(import_export, write_export, tmp_path):
    export = write_export("jobs: {a: {expression: 'fn(s => s)', adaptor: language-common@3.3.4}}\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")

    result = import_export(export, out)

    assert result.code == 2
    assert "already exists" in result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["mine.txt"]


def test_an_empty_output_folder_is_filled(import_export, write_export, tmp_path):
    export = write_export("jobs: {a: {expression: 'fn(s => s)', adaptor: language-common@3.3.4}}\n")
    out = tmp_path / "out"
    out.mkdir()

    result = import_export(export, out)

    assert (out / "jobs" / "a.js").read_text() == "fn(s => s)"
    assert result.spec["jobs"]["a"]["file"] == "jobs/a.js"


def test_a_failure_while_writing_leaves_nothing_behind(
    import_export, write_export, tmp_path, monkeypatch
):
    export = write_export("jobs: {a: {expression: 'fn(s => s)', adaptor: language-common@3.3.4}}\n")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "render_notes", broken)
    with pytest.raises(OSError, match="disk full"):
        import_export(export)

    assert [path.name for path in tmp_path.iterdir()] == ["export"]


def test_the_default_output_folder_is_named_after_the_project(
    write_export, tmp_path, monkeypatch, capsys
):
    import argparse

    from openfn_airflow.imports.command import run

    export = write_export("name: Clinic Intake\nworkflows:\n  wf:\n    jobs: {}\n")
    monkeypatch.chdir(tmp_path)

    assert run(argparse.Namespace(path=str(export), out=None)) == 0
    assert (tmp_path / "Clinic-Intake" / "project.yaml").is_file()
    assert "into " + str(tmp_path / "Clinic-Intake") in capsys.readouterr().out
