"""Pair the results of two runs by name, metric *and* configuration, and say why the rest could not be paired.

A throughput cell at 8 generated tokens and one at 16 carry the same name; comparing them would report a
"regression" that is only a different workload. So a result of run A is paired only with a result of run B of
the same name, metric and configuration (``config_key``). What is left over is reported, never compared:

- a name present in both runs whose configurations differ: ``tok_per_sec_128/throughput: gen_tokens 8 vs 16``;
- a name present in one run only: "only in A" / "only in B".

Names are read under their current names (``compare.names``): an lm-eval import stored before it took the seed
converter's names, and a native log-likelihood ``acc``, pair with an import's ``accuracy``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mlx_benchmarks.compare.config_key import config_label, differences, labelled, result_config, varying_keys
from mlx_benchmarks.compare.names import result_name
from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import UsageError

MAX_REASONS_IN_ERROR = 3


@dataclass(frozen=True)
class Pair:
    """A result of A and its counterpart in B, with the configuration they share."""

    a: Mapping[str, Any]
    b: Mapping[str, Any]
    config: dict[str, str]
    label: str  # the name, with the keys that tell it from its namesakes ("tok_per_sec_128 [gen_tokens=8]")
    name: str = ""  # the current name and metric both are read under (``compare.names``)
    metric: str = ""


@dataclass(frozen=True)
class Unpaired:
    """A result (``name/metric``) of one or both runs left out of the comparison, and why."""

    key: str
    reason: str

    def to_json(self) -> JSON:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass(frozen=True)
class Pairing:
    """Every pair, and everything that was not paired."""

    pairs: list[Pair]
    unpaired: list[Unpaired]  # same name and metric in both runs, different configuration
    only_a: list[str]  # name/metric found in A only
    only_b: list[str]


class NothingComparable(UsageError):
    """Two runs share no result of the same name, metric and configuration (exit 2)."""


def _grouped(results: Sequence[Mapping[str, Any]], envelope: Mapping[str, Any],
             ignore: Iterable[str]) -> dict[tuple[str, str], list[tuple[Mapping[str, Any], dict[str, str]]]]:
    out: dict[tuple[str, str], list[tuple[Mapping[str, Any], dict[str, str]]]] = {}
    ignored = list(ignore)
    for result in results:
        key = result_name(result)
        out.setdefault(key, []).append((result, result_config(result, envelope, ignore=ignored)))
    return out


def _described(key: str, entries: Sequence[tuple[Mapping[str, Any], dict[str, str]]]) -> list[str]:
    """``name/metric``, with the configuration where a run holds several results of that name."""
    if len(entries) == 1:
        return [key]
    keys = varying_keys([config for _, config in entries])
    return [labelled(key, config, keys) for _, config in entries]


def _explain(key: str, namesakes_a: list[dict[str, str]], left_a: list[dict[str, str]],
             left_b: list[dict[str, str]]) -> list[Unpaired]:
    """Why each left-over result of one name found no partner: set against the closest left-over of the other
    run, the keys that differ; without one, "only in A/B with ..."."""
    keys = varying_keys(namesakes_a) if len(namesakes_a) > 1 else []
    out = []
    left_b = list(left_b)
    for config_a in left_a:
        shown = labelled(key, config_a, keys)  # which of A's namesakes this is
        if not left_b:
            out.append(Unpaired(shown, f"only in A with {config_label(config_a) or 'no recorded configuration'}"))
            continue
        closest = min(range(len(left_b)), key=lambda i: len(differences(config_a, left_b[i])))
        out.append(Unpaired(shown, ", ".join(differences(config_a, left_b.pop(closest)))))
    for config_b in left_b:
        out.append(Unpaired(key, f"only in B with {config_label(config_b) or 'no recorded configuration'}"))
    return out


def pair_results(envelope_a: Mapping[str, Any], envelope_b: Mapping[str, Any], *,
                 ignore: Iterable[str] = ()) -> Pairing:
    """Pair A's results with B's; ``ignore`` names configuration keys not to match on (``--ignore-config``)."""
    ignored = list(ignore)
    grouped_a = _grouped(envelope_a.get("results", []), envelope_a, ignored)
    grouped_b = _grouped(envelope_b.get("results", []), envelope_b, ignored)
    pairs: list[Pair] = []
    unpaired: list[Unpaired] = []
    only_a: list[str] = []
    for (name, metric), entries_a in grouped_a.items():
        key = f"{name}/{metric}"
        entries_b = grouped_b.get((name, metric))
        if entries_b is None:
            only_a += _described(key, entries_a)
            continue
        left_b = list(entries_b)
        left_a = []
        # told apart by what varies among A's namesakes (B's where A has one): "tok_per_sec_128 [gen_tokens=8]"
        namesakes = entries_a if len(entries_a) > 1 else entries_b
        namesake_keys = varying_keys([c for _, c in namesakes]) if len(namesakes) > 1 else []
        for result_a, config_a in entries_a:
            match = next((i for i, (_, config_b) in enumerate(left_b) if config_b == config_a), None)
            if match is None:
                left_a.append((result_a, config_a))
            else:
                shown = labelled(name, config_a, namesake_keys)
                pairs.append(Pair(result_a, left_b.pop(match)[0], config_a, shown, name, metric))
        unpaired += _explain(key, [c for _, c in entries_a], [c for _, c in left_a], [c for _, c in left_b])
    only_b = [item for (name, metric), entries in grouped_b.items() if (name, metric) not in grouped_a
              for item in _described(f"{name}/{metric}", entries)]
    return Pairing(pairs, unpaired, only_a, only_b)


def nothing_comparable(run_a: str, run_b: str, pairing: Pairing) -> NothingComparable:
    """The one-line error for two runs without a single comparable result, naming the first reasons."""
    unpaired = pairing.unpaired
    if unpaired:
        shown = "; ".join(str(u) for u in unpaired[:MAX_REASONS_IN_ERROR])
        more = len(unpaired) - MAX_REASONS_IN_ERROR
        why = f"no result of the same configuration ({shown}{f'; {more} more' if more > 0 else ''})"
    elif pairing.only_a and pairing.only_b:
        why = "no result name and metric in common"
    else:
        why = "one of them has no results"
    return NothingComparable(f"nothing comparable between {run_a} and {run_b}: {why}; "
                             "--ignore-config KEY compares across a configuration key on purpose")
