"""Figures the trust suites report (cells checked, payloads tried, fuzz inputs, parallel edits,
crash runs): printed, and merged into test-artifacts/security-figures.json for SECURITY.md.

`scaled(n)` sizes a suite: `make test` runs the default, `make test-security` multiplies it by
PROPDESK_SECURITY_SCALE (10 there)."""
from __future__ import annotations

import fcntl
import json
import os

from .conftest import ARTIFACTS

FIGURES = os.path.join(ARTIFACTS, "security-figures.json")
REPORTED: list[str] = []
"""This run's figure lines; conftest prints them in pytest's terminal summary."""


def scale() -> int:
    try:
        return max(1, int(os.environ.get("PROPDESK_SECURITY_SCALE", "1")))
    except ValueError:
        return 1


def scaled(n: int) -> int:
    """How many examples/runs a suite uses: n under `make test`, n × scale under `make test-security`."""
    return n * scale()


def record(suite: str, **figures) -> None:
    """Print a suite's figures and merge them into the figures file under its name."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    db = os.environ.get("PROPDESK_TEST_DATABASE_URL", "sqlite").split(":", 1)[0].split("+", 1)[0]
    with open(FIGURES + ".lock", "w") as lock:  # CI runs the SQLite and PostgreSQL passes side by side
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(FIGURES, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            data = {}
        data.setdefault(suite, {})[db] = {**figures, "scale": scale()}
        with open(FIGURES, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
    line = ", ".join(f"{k}={v}" for k, v in figures.items())
    REPORTED.append(f"{suite} ({db}): {line}")
