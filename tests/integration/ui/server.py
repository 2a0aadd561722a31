"""Airflow's real api-server alone (no scheduler, no dag-processor), for the browser tests.

The screens only need the api-server; without a scheduler, what they queue (reprocessed
messages, retried runs) stays queued, which is what the tests look at.
"""

from __future__ import annotations

import json
import re
from typing import Any

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


# What each user's login on Airflow's login page left in the browser (cookies, local storage),
# by api-server home and user: later browser contexts start from it (Playwright's storage_state)
# instead of loading the login page, submitting it and loading Airflow's UI again, 2-3 s a test.
_LOGINS: dict[tuple[str, str], Any] = {}


def logged_in_context(browser: Any, server: ApiServer, user: str, **options: Any) -> Any:
    """A new browser context (``options`` as for ``browser.new_context``) holding ``user``'s login.

    The first one for a server and user logs in on Airflow's own login page.
    """
    key = (str(server.home), user)
    if key not in _LOGINS:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{server.url}/")
            page.wait_for_url(re.compile(r"/auth/login"))
            page.locator("input[name=username]").fill(user)
            page.locator("input[name=password]").fill(server.password(user))
            page.locator("button[type=submit]").click()
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
            _LOGINS[key] = context.storage_state()
        finally:
            context.close()
    return browser.new_context(storage_state=_LOGINS[key], **options)
