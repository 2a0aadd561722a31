"""What the inbox refuses, as the HTTP answer it becomes."""

from __future__ import annotations

from typing import Any


class InboxError(Exception):
    """A request the inbox refuses: ``status`` is the HTTP status, ``error`` a short code."""

    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": self.error, "message": self.message}
