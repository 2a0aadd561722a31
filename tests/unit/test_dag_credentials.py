"""An Airflow Connection becomes the OpenFn credential (``state["configuration"]``)."""

from __future__ import annotations

from types import SimpleNamespace

from openfn_airflow.dags.credentials import configuration_from_connection


def connection(**fields):
    values = {"host": None, "schema": None, "port": None, "login": None, "password": None}
    values.update(fields)
    values.setdefault("extra_dejson", {})
    return SimpleNamespace(**values)


def test_host_login_password_become_base_url_and_basic_auth():
    conn = connection(host="https://dhis2.example.org/api", login="admin", password="district")
    assert configuration_from_connection(conn) == {
        "baseUrl": "https://dhis2.example.org/api",
        "username": "admin",
        "password": "district",
    }


def test_host_without_scheme_uses_schema_and_port():
    conn = connection(host="10.0.0.5", schema="http", port=8080)
    assert configuration_from_connection(conn)["baseUrl"] == "http://10.0.0.5:8080"
    assert configuration_from_connection(connection(host="api.example.org"))["baseUrl"] == (
        "https://api.example.org"
    )


def test_port_goes_into_the_netloc_not_after_the_path():
    conn = connection(host="http://api.example.org/v1", port=8443)
    assert configuration_from_connection(conn)["baseUrl"] == "http://api.example.org:8443/v1"


def test_extra_keys_are_copied_and_empty_fields_left_out():
    conn = connection(extra_dejson={"access_token": "tok", "instance": "x"})
    assert configuration_from_connection(conn) == {"access_token": "tok", "instance": "x"}
