"""Which stored results a comparison may use: one rule for compare, trend and the leaderboard.

A speed result whose measured requests failed more often than ``--max-error-rate`` is tagged ``valid=false``
when it is made (``suites.failure_policy``). Its figures describe a failing server, not the model's speed, so
every view leaves it out unless asked (``--include-invalid``). Results without the tag (older runs, quality
suites) are valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# the same rule over a row's tags_json, for the views that select in SQL (DuckDB)
VALID_SQL = "coalesce(json_extract_string(tags_json, '$.valid'), 'true') <> 'false'"


def is_valid(result: Mapping[str, Any]) -> bool:
    """False only for a result tagged ``valid=false``."""
    tags = result.get("tags")
    return not (isinstance(tags, Mapping) and str(tags.get("valid", "true")).lower() == "false")


def valid_only(results: Sequence[Mapping[str, Any]], *,
               include_invalid: bool = False) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(results to use, results left out as invalid); with ``include_invalid`` nothing is left out."""
    if include_invalid:
        return list(results), []
    kept = [r for r in results if is_valid(r)]
    return kept, [r for r in results if not is_valid(r)]


def valid_envelope(envelope: Mapping[str, Any], *,
                   include_invalid: bool = False) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The envelope with only its valid results, and (``name/metric``, why) per result left out."""
    kept, left = valid_only(envelope.get("results", []), include_invalid=include_invalid)
    why = [(f"{r.get('name')}/{r.get('metric')}",
            f"invalid: {(r.get('tags') or {}).get('invalid_reason', 'tagged valid=false')} (--include-invalid uses it)")
           for r in left]
    return {**envelope, "results": kept}, why
