"""Importers: results made by other tools, turned into v1 envelopes.

One module per tool; ``IMPORTERS`` maps the ``--kind`` key to it. Each module exposes
``to_envelope(document: object, context: ImportContext) -> Envelope``.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from mlx_benchmarks.envelope import Envelope
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.importers.common import ImportContext

IMPORTERS: dict[str, str] = {
    "lm-eval": "mlx_benchmarks.importers.lm_eval",
    "vllm": "mlx_benchmarks.importers.vllm_bench",
    "llama-bench": "mlx_benchmarks.importers.llama_bench",
}


class Importer(Protocol):
    def __call__(self, document: Any, context: ImportContext) -> Envelope: ...


def get_importer(kind: str) -> Importer:
    if kind not in IMPORTERS:
        raise UsageError(f"unknown import kind {kind!r}; choose one of: {', '.join(sorted(IMPORTERS))}")
    converter: Importer = importlib.import_module(IMPORTERS[kind]).to_envelope
    return converter
