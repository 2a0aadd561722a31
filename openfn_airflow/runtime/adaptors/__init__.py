"""Adaptors: operations that talk to other systems (``http``)."""
