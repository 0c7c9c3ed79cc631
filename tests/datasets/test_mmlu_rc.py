"""MMLU's log-likelihood contexts against lm-eval 0.4.13's own template and descriptions, row by row."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
import yaml

from mlx_benchmarks.datasets.mmlu import FOLDER
from mlx_benchmarks.datasets.mmlu_rc import FIVE_SHOT, ZERO_SHOT, _rows, description, question_text

lm_eval_utils = pytest.importorskip("lm_eval.utils", reason="lm-eval is in the dev extra")


def lm_eval_mmlu_folder() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "tasks" / "mmlu" / "default"


def test_question_text_is_lm_evals_doc_to_text_on_the_same_rows() -> None:
    template = yaml.safe_load((lm_eval_mmlu_folder() / "_default_template_yaml").read_text())["doc_to_text"]
    root = FOLDER.path()
    rng = random.Random(3)
    subjects = sorted(p.name for p in root.iterdir() if (p / "test").is_dir())
    checked = 0
    for subject in rng.sample(subjects, 12):
        for row in [*_rows(root, subject, "test")[:20], *_rows(root, subject, "dev")]:
            assert question_text(row) == lm_eval_utils.apply_template(template, row)
            checked += 1
    assert checked > 250


def test_descriptions_are_lm_evals_per_subject() -> None:
    for path in sorted(lm_eval_mmlu_folder().glob("mmlu_*.yaml")):
        config = yaml.safe_load(path.read_text())
        if "dataset_name" in config and "description" in config:
            assert description(config["dataset_name"]) == config["description"], path.name


def test_five_shot_contexts_are_the_first_five_dev_questions_then_the_question() -> None:
    zero, five = ZERO_SHOT.extract(None), FIVE_SHOT.extract(None)
    assert len(zero) == len(five) == 14042
    first = five[0]
    dev = _rows(FOLDER.path(), first.subject or "", "dev")[:5]
    shots = "".join(f"{question_text(ex)} {'ABCD'[int(ex['answer'])]}\n\n" for ex in dev)
    assert first.meta["requests"][0][0] == description(first.subject or "") + shots + first.meta["requests"][0][0].rsplit(
        "\n\n", 1)[-1]
    assert zero[0].meta["requests"][0][0] == description(first.subject or "") + first.meta["requests"][0][0].rsplit(
        "\n\n", 1)[-1]
    assert [c for _, c in first.meta["requests"]] == [" A", " B", " C", " D"]
