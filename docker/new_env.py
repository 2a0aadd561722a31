#!/usr/bin/env python3
"""Fill .env for docker-compose.yaml: every ``change-me`` value gets a fresh secret.

    python3 docker/new_env.py            # creates .env from .env.example when it is missing

Values already set are kept, so running it again is safe. The file is written with mode 600 and
the admin password is printed once. Python's standard library only.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path

PLACEHOLDER = "change-me"
ROOT = Path(__file__).resolve().parent.parent


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


# How each secret is made. Passwords that go into connection URLs stay hex (URL-safe as they are).
GENERATORS = {
    "POSTGRES_PASSWORD": lambda: secrets.token_hex(24),
    "REDIS_PASSWORD": lambda: secrets.token_hex(24),
    "AIRFLOW_FERNET_KEY": _fernet_key,
    "AIRFLOW_JWT_SECRET": lambda: secrets.token_urlsafe(64),
    "AIRFLOW_API_SECRET_KEY": lambda: secrets.token_urlsafe(64),
    "AIRFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(18),
}


def fill(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each ``KEY=change-me`` line given a new secret, and the values it set."""
    lines, made = [], {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and not key.startswith("#") and value.strip() == PLACEHOLDER:
            made[key] = GENERATORS.get(key, lambda: secrets.token_hex(24))()
            line = f"{key}={made[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n", made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=ROOT / ".env", help="the file to fill")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    args = parser.parse_args(argv)
    existed = args.env.exists()
    text, made = fill((args.env if existed else args.example).read_text())
    if existed and not made:
        print(f"{args.env}: no change-me values left, nothing to do")
        return 0
    fd = os.open(args.env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.chmod(args.env, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    print(f"{args.env}: set {', '.join(sorted(made))}")
    if "AIRFLOW_ADMIN_PASSWORD" in made:
        print(f"admin password (shown once): {made['AIRFLOW_ADMIN_PASSWORD']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
