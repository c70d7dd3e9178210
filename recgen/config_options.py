"""``--retrieval-config`` / ``--generator-config``: settings to change, as inline JSON or a JSON file.

Example:
    >>> config_changes("--retrieval-config", '{"max_epochs": 5}')
    {'max_epochs': 5}
"""
from __future__ import annotations

import json
import os
from typing import Optional

from recgen.contracts.errors import DataError


def config_changes(option: str, text: Optional[str]) -> dict:
    """The fields to change (none for an empty option); a DataError names a bad option."""
    if not text:
        return {}
    try:
        changes = json.loads(open(text, encoding="utf-8").read() if os.path.isfile(text) else text)
    except ValueError as error:
        raise DataError(f"{option} {text!r}: {error}") from error
    if not isinstance(changes, dict):
        raise DataError(f"{option} {text!r}: expected a JSON object of fields to change")
    return changes


def changed_config(config, option: str, text: Optional[str], changes: Optional[dict] = None):
    """``config`` (a frozen JsonConfig dataclass) with the option's changes (``changes`` when
    already parsed from ``text``); a DataError names a field that does not exist or a value the
    config refuses."""
    try:
        return config.replace(**(config_changes(option, text) if changes is None else changes))
    except (TypeError, ValueError) as error:
        raise DataError(f"{option} {text!r}: {error}") from error
