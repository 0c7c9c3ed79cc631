"""A sweep's parameters as a reader reads them: ``prompt_tokens=128 · gen_tokens=32``, not a Python dict.

``options_text`` prints one run's options (those set); ``matrix_text`` only the ones that differ between the
sweep's runs, which is what tells one of its tables from the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_value(v) for v in value)
    return str(value)


def options_text(options: Mapping[str, Any], keys: Iterable[str] | None = None) -> str:
    """``key=value`` pairs joined by `` · `` over ``keys`` (default: every option that is set)."""
    chosen = list(keys) if keys is not None else [k for k, v in options.items() if v is not None]
    return " · ".join(f"{key}={_value(options.get(key))}" for key in chosen) or "defaults"


def varying_options(all_options: Sequence[Mapping[str, Any]]) -> list[str]:
    """The option names whose values are not the same in every run, in first-seen order."""
    names: list[str] = []
    for options in all_options:
        names += [k for k in options if k not in names]
    return [k for k in names if len({_value(o.get(k)) for o in all_options}) > 1]


def matrix_text(options: Mapping[str, Any], all_options: Sequence[Mapping[str, Any]]) -> str:
    """What sets this run apart from the sweep's others (all its options when it is the only one)."""
    keys = varying_options(all_options)
    return options_text(options, keys) if keys else options_text(options)
