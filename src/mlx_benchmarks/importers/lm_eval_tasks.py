"""What an lm-eval task measured, in the terms of our own configuration keys (``compare.config_key``).

An imported lm-eval score pairs with a native one only where the two measure the same thing. lm-eval's results
file says how each task was scored (``configs[task].output_type``), with how many shots and on which records
(``--limit`` takes the *first* N documents; our ``--limit`` takes a seeded sample, so the two subsets differ).
For ranked classification, lm-eval 0.4's ``acc`` / ``acc_norm`` are what our log-likelihood scoring reproduces
(``scoring.loglik.REFERENCES``), and lm-eval's zero-shot ARC tasks ask exactly the questions, in the words and
choice order, of our ``arc_easy_rc0`` / ``arc_challenge_rc0`` (OLMES' request files): the dataset of ours a task
equals is recorded only when the file's task config shows it is that one.
"""

from __future__ import annotations

from typing import Any

from mlx_benchmarks.scoring.loglik import REFERENCES

# output_type -> our ``scoring`` tag
SCORING = {"multiple_choice": "loglikelihood", "loglikelihood": "loglikelihood", "generate_until": "generate"}
# lm-eval metric key -> the metric of ours it is (ranked classification)
RANKED = {"acc,none": "acc", "acc_norm,none": "acc_norm"}
# lm-eval's arc_easy.yaml: the prompt, the choices, and the space before each (OLMES' continuations " <choice>")
ARC = {"dataset_path": "allenai/ai2_arc", "test_split": "test", "doc_to_text": "Question: {{question}}\nAnswer:",
       "doc_to_choice": "{{choices.text}}", "target_delimiter": " "}
# (task, shots) -> (our dataset, what lm-eval's task config must say for the two to be the same records)
EQUIVALENT_DATASETS: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {
    ("arc_easy", 0): ("arc_easy_rc0", {**ARC, "dataset_name": "ARC-Easy"}),
    ("arc_challenge", 0): ("arc_challenge_rc0", {**ARC, "dataset_name": "ARC-Challenge"}),
}


def task_config(document: dict[str, Any], task: str) -> dict[str, Any]:
    configs = document.get("configs")
    found = configs.get(task) if isinstance(configs, dict) else None
    return found if isinstance(found, dict) else {}


def shots(document: dict[str, Any], task: str) -> int | None:
    n_shot = document.get("n-shot")
    value = n_shot.get(task) if isinstance(n_shot, dict) else None
    if value is None:
        value = task_config(document, task).get("num_fewshot")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def comparison_tags(document: dict[str, Any], task: str, key: str, limit: Any) -> dict[str, str]:
    """Our configuration tags for one lm-eval metric: scoring, shots, subset, reference, dataset."""
    config = task_config(document, task)
    out: dict[str, str] = {}
    scoring = SCORING.get(str(config.get("output_type")))
    if scoring:
        out["scoring"] = scoring
    n = shots(document, task)
    if n is not None:
        out["num_fewshot"] = str(n)
    if limit is not None:
        out["subset"] = "first"  # lm-eval --limit: the first N documents, not a seeded sample
    version = str(document.get("lm_eval_version") or "")
    if scoring == "loglikelihood" and key in RANKED and version.startswith("0.4."):
        out["reference"] = REFERENCES[RANKED[key]]
    equivalent = EQUIVALENT_DATASETS.get((task, n if n is not None else -1))
    if scoring == "loglikelihood" and equivalent and all(config.get(k) == v for k, v in equivalent[1].items()):
        out["dataset"] = equivalent[0]
        out["dataset_source"] = f"lm-eval {config['dataset_path']} {config['dataset_name']} {config['test_split']}"
    return out
