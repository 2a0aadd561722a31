from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest

from openfn_airflow.runtime import data_value, each, field, fields, run_job
from openfn_airflow.runtime.adaptors.http import (
    HTTPError,
    del_,
    delete,
    get,
    patch,
    post,
    put,
    request,
)
from openfn_airflow.runtime.console import Console
from openfn_airflow.runtime.run_context import RunContext, entered

BASE = {"baseUrl": "https://api.example.org/v1"}


def test_relative_path_joins_the_base_url_and_result_follows_compose_next_state(api):
    api.reply = lambda r: httpx.Response(200, json={"items": [1]}, headers={"x-rate": "9"})
    result = run_job(
        [get("/patients")], {"data": {"old": 1}}, configuration=BASE, transport=api.transport
    )
    assert result.exit_code == 0, result.log
    assert str(api.last.url) == "https://api.example.org/v1/patients"
    state = result.final_state
    assert state["data"] == {"items": [1]}
    assert state["references"] == [{"old": 1}]
    response = state["response"]
    assert response["status_code"] == 200
    assert response["method"] == "GET"
    assert response["url"] == "https://api.example.org/v1/patients"
    assert response["headers"]["x-rate"] == "9"
    assert isinstance(response["duration"], int)
    assert "configuration" not in state


def test_base_url_snake_case_and_absolute_urls(api):
    run_job(
        [get("items")],
        {},
        configuration={"base_url": "https://h.example/api/"},
        transport=api.transport,
    )
    assert str(api.last.url) == "https://h.example/api/items"
    run_job([get("https://other.example/x")], {}, transport=api.transport)
    assert str(api.last.url) == "https://other.example/x"


def test_relative_path_without_base_url_is_a_clear_job_error(api):
    result = run_job([get("/patients")], {}, transport=api.transport)
    assert result.exit_code == 1
    assert "relative URL '/patients' needs a base URL" in result.error
    assert "set baseUrl" in result.log
    assert api.requests == []


def test_every_request_is_logged_as_one_line(api):
    result = run_job([post("https://open.example/sync?q=1", {"a": 1})], {}, transport=api.transport)
    lines = [line for line in result.log.splitlines() if line.startswith("HTTP ")]
    assert len(lines) == 1
    assert re.fullmatch(r"HTTP POST https://open\.example/sync\?q=1 -> 200 \(\d+ ms\)", lines[0])


def test_basic_auth_header_from_username_and_password(api):
    config = {**BASE, "username": "alice", "password": "s3cret-pw"}
    result = run_job([get("/me")], {}, configuration=config, transport=api.transport)
    expected = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    assert api.last.headers["authorization"] == expected
    assert "s3cret-pw" not in result.log and expected not in result.log


@pytest.mark.parametrize("key", ["access_token", "token"])
def test_bearer_auth_header_from_a_token(api, key):
    run_job([get("/me")], {}, configuration={**BASE, key: "tok-123"}, transport=api.transport)
    assert api.last.headers["authorization"] == "Bearer tok-123"


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/v1/me",
        "https://api.example.org.evil.example/v1/me",  # a prefix match would leak the token
        "http://api.example.org/v1/me",  # other scheme
        "https://api.example.org/v2/me",  # outside the base path
        "https://api.example.org/v10/me",
    ],
)
def test_auth_is_not_sent_outside_the_base_url(api, url):
    config = {**BASE, "access_token": "tok-123", "username": "u", "password": "pwpw"}
    run_job([get(url)], {}, configuration=config, transport=api.transport)
    assert "authorization" not in api.last.headers


def test_auth_is_sent_to_an_absolute_url_under_the_base(api):
    run_job(
        [get("https://api.example.org/v1/x")],
        {},
        configuration={**BASE, "token": "t0k3n"},
        transport=api.transport,
    )
    assert api.last.headers["authorization"] == "Bearer t0k3n"


def test_an_explicit_authorization_header_wins(api):
    config = {**BASE, "token": "tok-123"}
    run_job(
        [get("/x", headers={"Authorization": "Custom abc"})],
        {},
        configuration=config,
        transport=api.transport,
    )
    assert api.last.headers["authorization"] == "Custom abc"


def test_status_400_and_above_fail_the_run_with_a_useful_line(api):
    api.reply = lambda r: httpx.Response(422, json={"error": "name is required"})
    result = run_job([post("/patients", {"x": 1})], {}, configuration=BASE, transport=api.transport)
    assert result.exit_code == 1
    assert result.status == "failed"
    assert result.final_state is None
    # The base URL is shown (it says where the request went); the credentials are not.
    assert result.error.startswith(
        "HTTPError: POST https://api.example.org/v1/patients -> 422 Unprocessable Entity"
    )
    assert "name is required" in result.error
    assert (
        "Error in operation 1 of 1 (POST /patients): HTTPError: POST https://api.example.org/v1/patients"
        in result.log
    )
    assert "HTTP POST https://api.example.org/v1/patients -> 422" in result.log


def test_http_error_carries_status_and_body(api):
    api.reply = lambda r: httpx.Response(404, json={"detail": "nope"})
    # Called directly inside a run context, as a job's own fn() might do.
    with (
        pytest.raises(HTTPError) as caught,
        entered(RunContext(console=Console(), transport=api.transport)),
    ):
        get("https://x.example/a")({})
    assert caught.value.status_code == 404
    assert caught.value.body == {"detail": "nope"}


def test_errors_false_accepts_every_status(api):
    api.reply = lambda r: httpx.Response(500, text="boom")
    result = run_job(
        [get("/x", errors=False, parse_as="text")], {}, configuration=BASE, transport=api.transport
    )
    assert result.exit_code == 0, result.log
    assert result.final_state["data"] == "boom"
    assert result.final_state["response"]["status_code"] == 500


def test_errors_map_accepts_or_names_statuses(api):
    api.reply = lambda r: httpx.Response(404, json={})
    ok = run_job([get("/x", errors={404: False})], {}, configuration=BASE, transport=api.transport)
    assert ok.exit_code == 0
    named = run_job(
        [get("/x", errors={"404": "Patient not found"})],
        {},
        configuration=BASE,
        transport=api.transport,
    )
    assert named.exit_code == 1
    assert (
        named.error
        == "HTTPError: Patient not found (GET https://api.example.org/v1/x -> 404 Not Found)"
    )


def test_json_body_is_the_default_and_lazy_values_resolve(api):
    body = fields(field("id", data_value("patient.id")), field("tags", [lambda s: s["tag"]]))
    state = {"data": {"patient": {"id": 7}}, "tag": "new"}
    run_job([post("/sync", body)], state, configuration=BASE, transport=api.transport)
    assert api.last.headers["content-type"] == "application/json"
    assert api.last_json() == {"id": 7, "tags": ["new"]}


def test_form_body(api):
    run_job(
        [post("/token", {"grant_type": "client_credentials", "scope": "a b"}, content_type="form")],
        {},
        configuration=BASE,
        transport=api.transport,
    )
    assert api.last.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(api.last.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["a b"],
    }


def test_string_and_xml_bodies(api):
    run_job(
        [put("/note", "hello", content_type="string")],
        {},
        configuration=BASE,
        transport=api.transport,
    )
    assert api.last.content == b"hello"
    assert api.last.headers["content-type"].startswith("text/plain")
    run_job(
        [patch("/doc", "<a/>", content_type="xml")], {}, configuration=BASE, transport=api.transport
    )
    assert api.last.method == "PATCH"
    assert api.last.headers["content-type"] == "application/xml"


def test_query_params_merge_with_the_url_and_drop_none(api):
    op = get(
        "/patients?active=1",
        query={"since": lambda s: s.get("cursor", "2020-01-01"), "skip": None, "ids": [1, 2]},
    )
    result = run_job([op], {"cursor": "2024-05-01"}, configuration=BASE, transport=api.transport)
    assert result.exit_code == 0, result.log
    assert api.last.url.params.multi_items() == [
        ("active", "1"),
        ("since", "2024-05-01"),
        ("ids", "1"),
        ("ids", "2"),
    ]
    assert "since=2024-05-01" in result.final_state["response"]["url"]


def test_delete_request_and_aliases(api):
    run_job(
        [delete("/a"), del_("/b"), request("options", "/c")],
        {},
        configuration=BASE,
        transport=api.transport,
    )
    assert [(r.method, r.url.path) for r in api.requests] == [
        ("DELETE", "/v1/a"),
        ("DELETE", "/v1/b"),
        ("OPTIONS", "/v1/c"),
    ]


def test_each_posts_every_item(api):
    api.reply = lambda r: httpx.Response(201, json=json.loads(r.content))
    op = each("$.data.items[*]", post("/sync", lambda state: {"id": data_value("id")(state)}))
    result = run_job(
        [op],
        {"data": {"items": [{"id": 1}, {"id": 2}]}},
        configuration=BASE,
        transport=api.transport,
    )
    assert [json.loads(r.content) for r in api.requests] == [{"id": 1}, {"id": 2}]
    assert result.final_state["data"] == {"id": 2}
    # Each item's post appends the item (the data it ran on) to references.
    assert result.final_state["references"] == [{"id": 1}, {"id": 2}]


def test_text_responses(api):
    api.reply = lambda r: httpx.Response(200, text="plain words")
    state = run_job([get("/t")], {}, configuration=BASE, transport=api.transport).final_state
    assert state["data"] == "plain words"  # parse_as json falls back to text


def test_invalid_options_fail_when_the_job_is_built():
    with pytest.raises(ValueError, match="content_type must be one of"):
        post("/x", {}, content_type="yaml")
    with pytest.raises(TypeError):
        get("/x", header={"a": "b"})


class TestTestMode:
    def test_nothing_is_sent_and_the_request_is_logged(self):
        def never(request):
            raise AssertionError(f"test mode sent {request.method} {request.url}")

        transport = httpx.MockTransport(never)
        config = {**BASE, "token": "tok-123"}
        result = run_job(
            [post("/sync", {"a": 1}), get("https://other.example/y")],
            {"data": {}},
            configuration=config,
            test_mode=True,
            transport=transport,
        )
        assert result.exit_code == 0, result.log
        assert 'TEST MODE: POST https://api.example.org/v1/sync {"a":1} (not sent)' in result.log
        assert "TEST MODE: GET https://other.example/y (not sent)" in result.log
        assert result.final_state["data"] == {}
        assert result.final_state["response"]["status_code"] == 200

    def test_without_an_injected_transport_nothing_leaves_the_process(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise AssertionError("a real request was attempted")

        monkeypatch.setattr(httpx.Client, "request", refuse)
        result = run_job([get("https://unreachable.invalid/")], {}, test_mode=True)
        assert result.exit_code == 0, result.log


class _SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        body = json.dumps({"path": self.path, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up (the timeout tests)
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_real_network_against_a_local_server_and_request_timeout(local_server):
    config = {"baseUrl": local_server, "token": "tok-local"}
    result = run_job([get("/hello", query={"a": 1})], {}, configuration=config)
    assert result.exit_code == 0, result.log
    # The server echoed the token it received; the final state keeps it masked.
    assert result.final_state["data"] == {"path": "/hello?a=1", "auth": "Bearer ***"}

    slow = run_job([get("/slow", timeout=0.2)], {}, configuration=config)
    assert slow.exit_code == 1
    assert "timed out after 0.2 s" in slow.error
    assert "-> timed out" in slow.log


def test_run_timeout_stops_a_request_in_flight(local_server):
    started = time.monotonic()
    result = run_job([get(local_server + "/slow")], {}, timeout=0.3)
    assert result.exit_code == 2
    assert time.monotonic() - started < 1.0


def test_a_base_url_holding_credentials_is_hidden(api):
    config = {"baseUrl": "https://bob:hunter22@api.example.org/v1"}
    result = run_job([get("/x")], {}, configuration=config, transport=api.transport)
    assert "hunter22" not in result.log
    assert "HTTP GET ***/x" in result.log
