"""Bad inputs to the OpenFn screens (/openfn/ui/): a 4xx or an error page, never a 5xx.

The screens' code (openfn_airflow/plugin/ui/) is another engineer's: these tests only hold it to
the same bar as the API (the filters are in test_security_filters.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from security_helpers import add_message, add_run, token

pytestmark = [pytest.mark.integration, pytest.mark.security]

UI = "/openfn/ui"


@pytest.fixture
def browser(airflow_app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(
        airflow_app,
        cookies={"_token": token(airflow_app, "viewer")},
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    "name",
    [
        "../app.py",
        "..%2fapp.py",
        "..%2f..%2fplugin%2fapp.py",
        "%2e%2e%2fui%2frouter.py",
        "openfn.css%00.py",
        "openfn.css/..",
        "..\\..\\app.py",
        "%2fetc%2fpasswd.css",
        "....//....//etc/passwd.css",
    ],
)
def test_static_files_stay_in_their_folder(browser, project, name):
    answer = browser.get(f"{UI}/static/{name}")

    assert answer.status_code == 404, (name, answer.status_code)
    assert "import" not in answer.text and "root:" not in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "messages/0",
        "messages/-1",
        "messages/abc",
        f"messages/{2**63}",
        f"messages/{10**40}",
        "runs/0",
        f"runs/{2**63}",
        f"runs/{10**40}",
        "dag-runs/openfn__security__intake/manual__2024-01-01",
        "dag-runs/x' OR 1=1 --/y",
        "dag-runs/%25/_",
    ],
)
def test_odd_ids_in_page_paths_are_never_a_5xx(browser, project, path):
    add_run(project, message_id=add_message(project, {"form": "intake"}))

    answer = browser.get(f"{UI}/{path}")

    assert answer.status_code < 500, (path, answer.status_code)
    assert answer.status_code in (200, 303, 404, 422), (path, answer.status_code)


def test_nul_in_a_dag_run_page_path_is_a_4xx(browser, project):
    answer = browser.get(f"{UI}/dag-runs/a%00b/c")

    assert 400 <= answer.status_code < 500, answer.status_code


@pytest.mark.parametrize(
    "query",
    [
        "q=%0d%0aSet-Cookie:%20x=1",
        "next=https://evil.example",
        "q=x%0d%0aLocation:%20https://evil.example",
    ],
)
def test_the_login_redirect_stays_on_this_site(airflow_app, project, query):
    from fastapi.testclient import TestClient

    anonymous = TestClient(airflow_app, follow_redirects=False)

    answer = anonymous.get(f"{UI}/inbox?{query}")

    assert answer.status_code in (303, 307), answer.status_code
    location = answer.headers["location"]
    assert "\r" not in location and "\n" not in location
    assert "set-cookie" not in answer.headers
    assert urlsplit(location).netloc in ("", "testserver"), location
