"""``--retrieval-config`` / ``--generator-config``: settings to change, as a preset name, inline
JSON or a JSON file.

Example:
    >>> config_changes("--retrieval-config", '{"max_epochs": 5}')
    {'max_epochs': 5}
    >>> config_changes("--generator-config", "tiny", presets={"tiny": {"num_layers": 1}})
    {'num_layers': 1}
"""
from __future__ import annotations

import json
import os
from typing import Mapping, Optional

from recgen.contracts.errors import DataError


def config_changes(option: str, text: Optional[str], presets: Optional[Mapping[str, dict]] = None) -> dict:
    """The fields to change (none for an empty option); a DataError names a bad option."""
    if not text:
        return {}
    presets = presets or {}
    if text in presets:
        return dict(presets[text])
    try:
        changes = json.loads(open(text, encoding="utf-8").read() if os.path.isfile(text) else text)
    except ValueError as error:
        names = f" (presets: {', '.join(sorted(presets))})" if presets else ""
        raise DataError(f"{option} {text!r}: not a preset, JSON file or JSON object{names}: {error}") from error
    if not isinstance(changes, dict):
        raise DataError(f"{option} {text!r}: expected a JSON object of fields to change")
    return changes


def changed_config(config, option: str, text: Optional[str], presets: Optional[Mapping[str, dict]] = None):
    """``config`` (a frozen JsonConfig dataclass) with the option's changes; a DataError names a
    field that does not exist or a value the config refuses."""
    return apply_changes(config, option, text, config_changes(option, text, presets))


def apply_changes(config, option: str, text: Optional[str], changes: dict):
    """``config`` with ``changes`` (parsed from ``option``'s ``text``), or a DataError naming them."""
    try:
        return config.replace(**changes)
    except (TypeError, ValueError) as error:
        raise DataError(f"{option} {text!r}: {error}") from error
