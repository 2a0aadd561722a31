"""Domain errors of the store: what callers catch instead of driver exceptions."""

from __future__ import annotations


class StoreError(Exception):
    """A database operation failed; the message says what to do when there is something to do."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached or went away: retry later (the inbox answers 503)."""


class StatementTimedOut(StoreError):
    """A statement run with a time budget (``fetch_one_within``) took longer: nothing changed."""
