"""Adaptor versions and names as the import writes them."""

from __future__ import annotations

import pytest

from openfn_airflow.imports.adaptors import read_adaptor
from openfn_airflow.imports.names import NameTable, project_name, sanitize
from openfn_airflow.spec.fields import NAME_PATTERN


@pytest.mark.parametrize(
    ("raw", "written", "noted"),
    [
        ("@openfn/language-http@7.2.10", "@openfn/language-http@7.2.10", False),
        ("language-http@v4.2.1", "@openfn/language-http@4.2.1", False),
        ("@openfn/language-http@v6.4.3", "@openfn/language-http@6.4.3", False),
        ("@openfn/language-fhir@5.0.0-pre.1", "@openfn/language-fhir@5.0.0-pre.1", False),
        ("@openfn/language-http@latest", "@openfn/language-http@latest", True),
        ("@openfn/language-http", "@openfn/language-http@latest", True),
        ("language-common", "@openfn/language-common@latest", True),
        ("language-http@^4.0.0", "@openfn/language-http@latest", True),
        (None, "@openfn/language-common@latest", True),
        ("@acme/language-x@1.0.0", "@acme/language-x@1.0.0", True),
    ],
)
def test_adaptors_keep_exact_versions_and_note_the_rest(raw, written, noted):
    adaptor = read_adaptor(raw, "job")

    assert adaptor.value == written
    assert (adaptor.note is not None) == noted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Register Patient", "Register-Patient"),
        ("envoyer résumé", "envoyer-resume"),
        ("a/b (c)", "a-b-c"),
        ("--x", "x"),
        ("日本", "job"),
        ("sync.cases_2", "sync.cases_2"),
    ],
)
def test_names_are_sanitized_to_valid_job_names(text, expected):
    assert sanitize(text) == expected
    assert NAME_PATTERN.fullmatch(sanitize(text))


def test_names_are_unique_even_by_case_and_the_changes_are_listed():
    table = NameTable("job")

    assert table.add("a b") == "a-b"
    assert table.add("a-b") == "a-b-2"
    assert table.add("A-B") == "A-B-3"
    assert table.add("a b") == "a-b"  # the same export name, the same name
    assert table.renamed == [
        ("job", "a b", "a-b"),
        ("job", "a-b", "a-b-2"),
        ("job", "A-B", "A-B-3"),
    ]


def test_project_names_have_no_dots():
    assert project_name("my.project v2") == "my-project-v2"
    assert len(project_name("x" * 300)) <= 92
