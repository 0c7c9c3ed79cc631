"""Prompt datasets for the speed suites: the packaged sample, JSONL and ShareGPT files, seeded selection."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlx_benchmarks.datasets.prompts import SAMPLE_FILE, SAMPLE_SHA256, load_prompt_set, select_prompts
from mlx_benchmarks.errors import DatasetError


def words(text: str) -> int:
    return len(text.split())


def test_the_packaged_sample_is_licensed_checksummed_and_varied() -> None:
    sample = load_prompt_set("sample")
    assert sample.license == "Apache-2.0" and sample.sha256 == SAMPLE_SHA256
    assert hashlib.sha256(SAMPLE_FILE.read_bytes()).hexdigest() == SAMPLE_SHA256
    assert 50 <= len(sample.items) <= 100 and len({i.id for i in sample.items}) == len(sample.items)
    lengths = sorted(words(i.text()) for i in sample.items)
    assert lengths[0] < 20 and lengths[-1] > 150, "short questions and long documents alike"
    assert all(i.output_tokens and 32 <= i.output_tokens <= 512 for i in sample.items)
    assert any(len(i.messages) > 1 for i in sample.items), "some carry a system prompt or earlier turns"
    assert {i.messages[-1]["role"] for i in sample.items} == {"user"}


def test_jsonl_prompts_and_messages(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "one two three", "output_tokens": 7}) + "\n\n"
                    + json.dumps({"messages": [{"role": "system", "content": "be brief"},
                                               {"role": "user", "content": "hello there"}]}) + "\n")
    prompts = load_prompt_set(str(path))
    assert prompts.name == "mine.jsonl" and prompts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    first, second = prompts.items
    assert first.messages == ({"role": "user", "content": "one two three"},) and first.output_tokens == 7
    assert second.id == "line2" and second.output_tokens is None and second.text() == "be brief\nhello there"


def test_sharegpt_takes_the_first_human_turn_and_counts_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "sharegpt.json"
    rows = [{"id": "x", "conversations": [{"from": "human", "value": "why is the sky blue"},
                                          {"from": "gpt", "value": "because of Rayleigh scattering of light"},
                                          {"from": "human", "value": "and sunsets"}]},
            {"id": "only-question", "conversations": [{"from": "human", "value": "hello?"}]},
            {"id": "y", "conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "hi"},
                                          {"from": "gpt", "value": "hello to you"}]}]
    path.write_text(json.dumps(rows))
    prompts = load_prompt_set(str(path))
    assert [i.id for i in prompts.items] == ["x", "y"], "a conversation without an answer is skipped, as vllm does"
    chosen = select_prompts(prompts, count=words, limit=None, seed=1)
    by_id = {i.id: i for i in chosen.items}
    assert by_id["x"].messages == ({"role": "user", "content": "why is the sky blue"},)
    assert by_id["x"].output_tokens == 6 and by_id["y"].output_tokens == 3, "the answer's length in tokens"


def test_selection_is_seeded_filtered_and_a_smaller_limit_is_a_prefix() -> None:
    sample = load_prompt_set("sample")
    ten = select_prompts(sample, count=words, limit=10, seed=3)
    five = select_prompts(sample, count=words, limit=5, seed=3)
    assert five.items == ten.items[:5] and ten == select_prompts(sample, count=words, limit=10, seed=3)
    assert select_prompts(sample, count=words, limit=10, seed=4).items != ten.items
    short = select_prompts(sample, count=words, limit=None, seed=3, min_tokens=10, max_tokens=30)
    assert all(10 <= n <= 30 for n in short.prompt_tokens) and short.filtered_out > 0
    assert short.prompt_tokens == tuple(words(i.text()) for i in short.items)
    with pytest.raises(DatasetError, match=r"no prompt of 66 has 5000\.\.6000 tokens"):
        select_prompts(sample, count=words, limit=None, seed=3, min_tokens=5000, max_tokens=6000)


@pytest.mark.parametrize(("content", "message"), [
    ('{"prompt": ""}\n', "needs a non-empty \"prompt\""),
    ('{"prompt": "x", "output_tokens": 0}\n', "output_tokens must be a whole number"),
    ('{"messages": [{"role": "wizard", "content": "x"}]}\n', "each message needs a role"),
    ('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n',
     "nothing is left to answer"),
    ("not json\n", "not JSON"),
    ('[{"conversations": "nope"}]', "must be a list"),
    ("", "holds no prompt"),
])
def test_malformed_files_name_the_place(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as caught:
        load_prompt_set(str(path))
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_dataset_error() -> None:
    with pytest.raises(DatasetError, match="neither 'random', 'sample' nor a readable file"):
        load_prompt_set("/nonexistent/prompts.jsonl")


def test_the_packaged_sample_is_a_registered_dataset_with_the_same_prompts() -> None:
    from mlx_benchmarks.datasets.registry import get_loader

    records = get_loader("chat_prompts_sample").extract(None)
    sample = load_prompt_set("sample")
    assert [r.prompt for r in records] == [item.text() for item in sample.items]
    assert len(records) == len(sample.items) >= 50
    assert all(r.meta["messages"] and r.task == "chat_prompts_sample" for r in records)
