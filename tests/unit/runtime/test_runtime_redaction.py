"""A credential's values never survive in a state that is stored or handed on, however copied."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from openfn_airflow.runtime import fn, run_job
from openfn_airflow.runtime.redaction import MASK, masker, redact, secret_values

CONFIG = {
    "baseUrl": "https://api.example",
    "username": "svc-openfn",
    "password": "hunter2-PASS",
    "access_token": "tok_9f8e7d6c",
}
SECRETS = ("svc-openfn", "hunter2-PASS", "tok_9f8e7d6c")


def mask_for(configuration):
    return masker(secret_values(configuration))


def assert_no_secret(value) -> None:
    text = json.dumps(value)
    basic = base64.b64encode(b"svc-openfn:hunter2-PASS").decode()
    for secret in (*SECRETS, basic, quote("hunter2-PASS", safe="")):
        assert secret not in text, f"{secret} in {text}"


class TestRedact:
    def test_strings_at_any_depth_under_any_key_and_in_longer_strings(self):
        state = {
            "x": {"token": "hunter2-PASS"},
            "headers": [{"Authorization": "Bearer tok_9f8e7d6c"}],
            "deep": {"a": [{"b": ["note: user svc-openfn said hi"]}]},
        }
        redacted = redact(state, mask_for(CONFIG))
        assert redacted == {
            "x": {"token": MASK},
            "headers": [{"Authorization": f"Bearer {MASK}"}],
            "deep": {"a": [{"b": [f"note: user {MASK} said hi"]}]},
        }
        assert_no_secret(redacted)

    def test_keys_holding_a_secret_are_masked_too(self):
        redacted = redact({"hunter2-PASS": 1, "by tok_9f8e7d6c": {"ok": True}}, mask_for(CONFIG))
        assert redacted == {MASK: 1, f"by {MASK}": {"ok": True}}

    def test_encoded_forms_of_a_secret_go_as_well(self):
        basic = base64.b64encode(b"svc-openfn:p/w&d=x").decode()
        state = {
            "auth": f"Basic {basic}",
            "url": "https://h/?p=" + quote("p/w&d=x", safe=""),
        }
        redacted = redact(state, mask_for({"username": "svc-openfn", "password": "p/w&d=x"}))
        assert redacted == {"auth": f"Basic {MASK}", "url": f"https://h/?p={MASK}"}

    def test_a_state_without_secrets_is_returned_as_is(self):
        state = {"data": {"n": 1, "ok": True, "none": None, "f": 1.5}, "url": "https://api.example"}
        assert redact(state, mask_for(CONFIG)) is state  # the base URL is not a secret

    def test_numbers_booleans_and_null_are_kept(self):
        assert redact({"n": [1, 2.5, True, None]}, mask_for(CONFIG)) == {"n": [1, 2.5, True, None]}

    def test_without_a_configuration_nothing_changes(self):
        state = {"x": "hunter2-PASS"}
        assert redact(state, mask_for(None)) is state

    def test_the_caller_value_is_not_changed(self):
        state = {"x": {"token": "hunter2-PASS"}}
        redact(state, mask_for(CONFIG))
        assert state == {"x": {"token": "hunter2-PASS"}}


class TestRunJob:
    def test_the_final_state_holds_no_trace_of_the_credential(self):
        def copy_around(state):
            secret = state["configuration"]["password"]
            return {
                **state,
                "x": {"token": secret},
                "headers": {"Authorization": f"Bearer {state['configuration']['access_token']}"},
                "data": {"items": [{"note": f"made by {state['configuration']['username']}"}]},
                "references": [{"cfg": dict(state["configuration"])}],
                secret: "as a key",
            }

        result = run_job([fn(copy_around)], {}, configuration=CONFIG)
        assert result.exit_code == 0
        assert_no_secret(result.final_state)
        assert result.final_state["x"] == {"token": MASK}
        assert result.final_state["headers"] == {"Authorization": f"Bearer {MASK}"}
        assert result.final_state["references"][0]["cfg"]["baseUrl"] == "https://api.example"

    def test_the_job_itself_still_gets_the_real_credential(self):
        def check(state):
            return {**state, "real": state["configuration"]["password"] == "hunter2-PASS"}

        result = run_job([fn(check)], {}, configuration=CONFIG)
        assert result.final_state["real"] is True
