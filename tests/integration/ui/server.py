"""Airflow's real api-server alone (no scheduler, no dag-processor), for the browser tests.

The screens only need the api-server; without a scheduler, what they queue (reprocessed
messages, retried runs) stays queued, which is what the tests look at.
"""

from __future__ import annotations

import json

from cluster import Cluster


class ApiServer(Cluster):
    """``airflow api-server`` as a real process, with the users the browser tests log in as."""

    def start(self, timeout: float = 120) -> ApiServer:
        self._spawn("api-server", "api-server", "--port", str(self.port))
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def password(self, user: str) -> str:
        passwords = json.loads(
            (self.home / "simple_auth_manager_passwords.json.generated").read_text()
        )
        return passwords[user]
