"""lm-evaluation-harness 0.4.13 itself, set up from its task YAML as ``lm_eval`` would, for differential tests.

Filters are built by lm-eval's own ``build_filter_ensemble`` from the task's ``filter_list`` and applied
through its ``FilterEnsemble`` to real ``Instance`` objects; scores come from its registered ``exact_match``
with the task's ``metric_list`` settings; replies pass lm-eval's ``postprocess_generated_text`` with
``think_end_token="</think>"`` and the task's ``until`` first, as its local models do (and as a server
given lm-eval's ``stop`` cuts the generation). Nothing is copied from lm-eval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

THINK_END = "</think>"


def _yaml(path: Path) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class LmEvalTask:
    """One lm-eval generative task's filters and exact_match settings, read from its YAML."""

    def __init__(self, yaml_relpath: str) -> None:
        lm_eval = pytest.importorskip("lm_eval")
        from lm_eval.api.metrics import exact_match_hf_evaluate
        from lm_eval.filters import build_filter_ensemble
        from lm_eval.models.utils import postprocess_generated_text

        config = _yaml(Path(lm_eval.__file__).parent / "tasks" / yaml_relpath)
        self.config = config
        self.ensembles = [
            build_filter_ensemble(entry["name"], [(step["function"], {k: v for k, v in step.items() if k != "function"})
                                                  for step in entry["filter"]])
            for entry in config["filter_list"]
        ]
        (metric,) = [m for m in config["metric_list"] if m["metric"] == "exact_match"]
        self.until = list(config["generation_kwargs"]["until"])
        self.metric_kwargs = {k: v for k, v in metric.items() if k not in ("metric", "aggregation", "higher_is_better")}
        self._exact_match = exact_match_hf_evaluate
        self._postprocess = postprocess_generated_text

    def scores(self, cases: list[tuple[str, dict[str, Any], str]]) -> list[dict[str, float]]:
        """{filter name: exact_match} for each (reply, doc, target), as lm-eval computes them (one batch)."""
        from lm_eval.api.instance import Instance

        instances = []
        for index, (reply, doc, _) in enumerate(cases):
            instance = Instance(request_type="generate_until", doc=doc, arguments=("", {}), idx=index)
            instance.resps = [self._postprocess(reply, stop=self.until, think_end_token=THINK_END)]
            instances.append(instance)
        for ensemble in self.ensembles:
            ensemble.apply(instances)
        return [{name: float(self._exact_match(predictions=[filtered], references=[target],
                                               **self.metric_kwargs)["exact_match"])
                 for name, filtered in instance.filtered_resps.items()}
                for instance, (_, _, target) in zip(instances, cases, strict=True)]
