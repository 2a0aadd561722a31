"""Schemathesis over the plugin's OpenAPI document: every operation, valid and invalid inputs.

The document is the one the API serves (``GET /openfn/api/v1/openapi.json``, authenticated);
cases are sent in-process to Airflow's real api-server app (the plugin mounted at /openfn) as the
admin, through a client that does not start the app's lifespan (no dispatcher thread). The
state-changing operations run against the throw-away ``security`` project: a few messages and
runs whose small ids the generated ids hit. A bounded number of examples per operation keeps the
file well under two minutes on two cores.

Checks: no 5xx (``not_a_server_error``), answers of documented statuses match their schema
(``response_schema_conformance``) and content type (``content_type_conformance``), and invalid
input is refused with a 4xx (``negative_data_rejection``). Undocumented 4xx statuses (400, 401,
404, 413, 415) are the routes' documented behaviour in README.md, not schema failures.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)
from security_helpers import API, INBOX_ID, PROJECT, add_message, add_run, token

pytestmark = [pytest.mark.integration, pytest.mark.security]

EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@pytest.fixture(scope="module")
def admin_headers(airflow_app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(airflow_app, 'admin')}"}


def _load(airflow_app: Any, headers: dict[str, str]) -> Any:
    from fastapi.testclient import TestClient

    answer = TestClient(airflow_app, headers=headers).get(f"{API}/openapi.json")
    assert answer.status_code == 200, answer.text
    schema = schemathesis.openapi.from_dict(answer.json())
    schema.config.update(base_url="http://testserver/openfn")
    schema.config.generation.update(allow_x00=True)
    return schema


@pytest.fixture(scope="module")
def api_schema(airflow_app: Any, admin_headers: dict[str, str]) -> Any:
    """The OpenAPI document the plugin serves, ids and names fuzzed."""
    return _load(airflow_app, admin_headers)


@pytest.fixture
def seeded(project: Any) -> Any:
    """Messages 1-3 and runs 1-3 of the throw-away project (ids restart at 1 in every test);
    message 1 has two files (1: a photo, 2: an HTML page), which the generated refs may hit."""
    from openfn_airflow.inbox.multipart import Attachment
    from openfn_airflow.store import attachments

    for n in range(3):
        message_id = add_message(project, {"form": "intake", "n": n, "name": f"ada {n}"})
        add_run(project, message_id=message_id, log=f"run {n} failed", status="failed")
    files = [
        Attachment("0", "photo", "image/jpeg", b"\xff\xd8\xff\xe0 not much of a photo"),
        Attachment("a", "page", "text/html", b"<script>alert(1)</script>"),
    ]
    attachments.add_attachments(project, 1, files)
    return project


def _client(airflow_app: Any) -> Any:
    from schemathesis.python.asgi import get_client

    return get_client(airflow_app)  # not entered: the app's lifespan is not started


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation of the document, read from the plugin's app."""
    from openfn_airflow.plugin.app import create_app

    paths = create_app().openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


OPERATIONS = _operations()
# Operations no invalid input exists for: free-text path parameters only (the inbox routes; the
# body of an inbox request is not in the document: test_security_inbox.py sends bad ones),
# optional free-text query parameters, or no parameter at all (the health check).
NOTHING_TO_NEGATE = {
    "GET /health",
    "POST /inbox/{inbox_id}",
    "GET /inbox/{inbox_id}",
    "HEAD /inbox/{inbox_id}/submission",
    "POST /inbox/{inbox_id}/submission",
    "POST /inbox/{inbox_id}/{extra_path}",
    "GET /api/v1/jobs",
}
KNOWN_BUGS: dict[tuple[str, Any], Any] = {}


def _cases(operations: list[tuple[str, str]]) -> list[Any]:
    cases = []
    for method, path in operations:
        label = f"{method} {path}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and label in NOTHING_TO_NEGATE:
                continue
            marks = KNOWN_BUGS.get((label, mode), ())
            cases.append(pytest.param(method, path, mode, marks=marks, id=f"{label} {mode}"))
    return cases


def test_the_served_document_is_the_one_fuzzed(api_schema: Any) -> None:
    served = [
        (method.upper(), path)
        for path, ops in api_schema.raw_schema["paths"].items()
        for method in ops
    ]
    assert served == OPERATIONS
    assert len(OPERATIONS) >= 20


def test_the_document_needs_a_login(anonymous: Any) -> None:
    assert anonymous.get(f"{API}/openapi.json").status_code == 401
    assert anonymous.get("/openfn/openapi.json").status_code == 404  # the app's own is off
    assert anonymous.get("/openfn/docs").status_code == 404


def _fuzz(strategy: Any, airflow_app: Any, headers: dict[str, str]) -> None:
    @given(case=strategy)
    @FUZZ_SETTINGS
    def run(case: Any) -> None:
        # Anonymous and forged callers are the plugin tests' (test_plugin_security.py): every
        # case here is the admin's, so what is generated reaches the routes themselves.
        response = case.call(session=_client(airflow_app), headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.mark.parametrize(("method", "path", "mode"), _cases(OPERATIONS))
def test_operation(api_schema, airflow_app, admin_headers, seeded, method, path, mode):
    operation = api_schema[path][method]

    _fuzz(operation.as_strategy(generation_mode=mode), airflow_app, admin_headers)


ON_THE_PROJECT = [(m, p) for m, p in OPERATIONS if "{name}" in p or "{inbox_id}" in p]


@pytest.mark.parametrize(("method", "path", "mode"), _cases(ON_THE_PROJECT))
def test_operation_on_the_project(
    api_schema, airflow_app, admin_headers, seeded, method, path, mode
):
    """The project's own name and inbox id, so the cases get past "not found"."""
    operation = api_schema[path][method]
    fixed = {"name": PROJECT, "inbox_id": INBOX_ID}
    fixed = {name: value for name, value in fixed.items() if f"{{{name}}}" in path}

    _fuzz(
        operation.as_strategy(generation_mode=mode, path_parameters=fixed),
        airflow_app,
        admin_headers,
    )
