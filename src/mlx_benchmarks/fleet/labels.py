"""Node labels and placement: what a machine says about itself, and whether it satisfies a cell's ``where``.

A node joins with labels taken from its own ``mlx-bench system`` (``chip``, ``memory_gb``, ``os``) plus any
``--label key=value`` given, written in the form Ray accepts for a label value (at most 63 characters of
letters, digits, ``-``, ``_`` and ``.``, starting and ending with a letter or digit): "Apple M4 Max" becomes
``Apple-M4-Max``. A ``where`` value is written the same way before comparing, case-insensitively, so a sweep
file may say ``chip = "Apple M4 Max"``. Comparisons (``>=64``) need a label that reads as a number.

Each node also offers one unit of the custom resource ``mlx_bench_timed``: a timed cell takes all of it,
an untimed cell a quarter, so a timed cell never shares its machine and untimed ones share in fours.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.sweep import Condition

TIMED_RESOURCE = "mlx_bench_timed"
UNTIMED_SHARE = 0.25  # untimed cells (quality against a remote server) share a node, four at a time
SYSTEM_LABELS = ("chip", "memory_gb", "os")
NODE_ID_LABEL = "ray.io/node-id"  # Ray's own label on every node
_LABEL_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,62}")


def label_value(value: Any) -> str:
    """``value`` as a Ray label value: "Apple M4 Max" -> ``Apple-M4-Max``, 64 -> ``64``."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(value)).strip("-_.")
    return text[:63].rstrip("-_.") or "unknown"


def system_labels(system: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A node's labels: the placement fields of its ``mlx-bench system`` and any ``extra`` (which win)."""
    labels = {key: label_value(system[key]) for key in SYSTEM_LABELS if system.get(key) not in (None, "")}
    for key, value in (extra or {}).items():
        if not _LABEL_KEY.fullmatch(key) or key.startswith("ray.io"):
            raise UsageError(f"--label {key}: not a label name (a letter, then letters, digits, _ . -)")
        labels[key] = label_value(value)
    return labels


def parse_label_flags(flags: Sequence[str]) -> dict[str, str]:
    """``["team=ml", "rack=2"]`` -> ``{"team": "ml", "rack": "2"}``; UsageError on a flag without ``=``."""
    out = {}
    for flag in flags:
        key, sep, value = flag.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--label {flag!r}: write KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def satisfies(condition: Condition, labels: Mapping[str, str]) -> bool:
    """Whether a node with ``labels`` meets one condition (a missing label never does)."""
    have = labels.get(condition.key)
    if have is None:
        return False
    if condition.op == "=":
        return label_value(condition.value).casefold() == have.casefold()
    number = _number(have)
    if number is None:
        return False
    want = float(condition.value)
    return {"==": number == want, "!=": number != want, ">=": number >= want, "<=": number <= want,
            ">": number > want, "<": number < want}[condition.op]


def matches(conditions: Sequence[Condition], labels: Mapping[str, str]) -> bool:
    """Whether a node meets every condition (no conditions: every node does)."""
    return all(satisfies(c, labels) for c in conditions)


def cell_resources(timed: bool) -> dict[str, float]:
    """The custom resources a cell asks for: the whole ``mlx_bench_timed`` unit when timed, a share if not."""
    return {TIMED_RESOURCE: 1.0 if timed else UNTIMED_SHARE}


def node_selector(node_ids: Sequence[str]) -> dict[str, str]:
    """A Ray label selector for "one of these nodes" (Ray's selectors compare text only, so numeric
    comparisons are resolved against ``ray.nodes()`` first and the matching node ids are named)."""
    return {NODE_ID_LABEL: "in(" + ",".join(node_ids) + ")"}


def start_command(labels: Mapping[str, str], *, address: str | None, num_cpus: int | None = None,
                  ray_bin: str = "ray") -> list[str]:
    """The ``ray start`` line that makes this machine a fleet node (``address`` None: the head)."""
    command = [ray_bin, "start", "--head"] if address is None else [ray_bin, "start", f"--address={address}"]
    command.append("--labels=" + ",".join(f"{key}={value}" for key, value in sorted(labels.items())))
    command.append("--resources=" + json.dumps({TIMED_RESOURCE: 1}))
    if num_cpus is not None:
        command.append(f"--num-cpus={num_cpus}")
    return command


def shell_line(command: Sequence[str]) -> str:
    """``command`` as one line a shell would run as is."""
    return " ".join(shlex.quote(part) for part in command)
