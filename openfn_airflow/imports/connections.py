"""The Airflow connections an import needs: collected per credential, listed in connections.md."""

from __future__ import annotations

import json
import shlex

from openfn_airflow.imports.models import Connection, ImportedProject
from openfn_airflow.imports.names import NameTable

#: Credential fields of OpenFn adaptors and the connection field they come from here
#: (dags/credentials.py: host -> baseUrl, login -> username, password -> password, extra -> rest).
_FIELD_OPTIONS = {
    "baseUrl": "--conn-host",
    "hostUrl": "--conn-host",
    "host": "--conn-host",
    "url": "--conn-host",
    "username": "--conn-login",
    "user": "--conn-login",
    "password": "--conn-password",
}


class Connections:
    """One connection per credential name of the export, with a valid, unique id."""

    def __init__(self) -> None:
        self.names = NameTable("connection")
        self._by_id: dict[str, Connection] = {}

    def declare(self, key: str, label: str | None = None, fields: tuple[str, ...] = ()) -> str:
        """Record the export's credential `key` (shown as `label`); return its connection id."""
        conn_id = self.names.add(label or key, key=key)
        if conn_id not in self._by_id:
            self._by_id[conn_id] = Connection(conn_id, label or key, fields)
        return conn_id

    def use(self, key: str, job: str, label: str | None = None) -> str:
        """Return the connection id for credential `key`, recording that `job` needs it."""
        conn_id = self.names.get(key) or self.declare(key, label)
        self._by_id[conn_id].jobs.append(job)
        return conn_id

    def all(self) -> list[Connection]:
        return list(self._by_id.values())


def render_connections(project: ImportedProject) -> str:
    """Return connections.md: every connection to create, with a command and no secret."""
    lines = [
        f"# Airflow connections for {project.name}",
        "",
        "Each OpenFn credential of the export is an Airflow connection here: the job names its id",
        "in `credential:`. The connection's host becomes `baseUrl`, its login and password",
        "`username` and `password`, and every key of its JSON extra is passed as is",
        "(e.g. `access_token`). The export's secrets are not copied: fill in the values.",
        "Create each with the command below, in Admin -> Connections, or as an",
        "`AIRFLOW_CONN_<ID>` variable.",
        "",
    ]
    if not project.connections:
        lines.append("The imported jobs use no credential: there is nothing to create.")
        return "\n".join(lines) + "\n"
    for connection in project.connections:
        lines += [f"## {connection.conn_id}", ""]
        if connection.origin != connection.conn_id:
            lines.append(f"OpenFn credential: {connection.origin}")
        used = ", ".join(connection.jobs) if connection.jobs else "no imported job"
        lines.append(f"Used by: {used}")
        if connection.fields:
            lines.append(
                f"Fields in the export (values not copied): {', '.join(connection.fields)}"
            )
        lines += ["", "```sh", _command(connection), "```", ""]
    return "\n".join(lines)


def _command(connection: Connection) -> str:
    options: dict[str, str] = {}
    extra: list[str] = []
    fields = connection.fields or ("baseUrl", "username", "password")
    for field in fields:
        option = _FIELD_OPTIONS.get(field)
        if option and option not in options:
            options[option] = f"<{field}>"
        else:
            extra.append(field)
    parts = [f"airflow connections add {shlex.quote(connection.conn_id)}", "--conn-type http"]
    parts += [f"{option} {shlex.quote(value)}" for option, value in options.items()]
    if extra:
        body = json.dumps({key: f"<{key}>" for key in extra})
        parts.append(f"--conn-extra {shlex.quote(body)}")
    return " \\\n  ".join(parts)
