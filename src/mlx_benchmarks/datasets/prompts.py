"""Prompt datasets for the speed suites: real chat prompts instead of salted filler (``--dataset``).

Three shapes, told apart by their content:
- JSON Lines, one prompt per line: ``{"prompt": "..."}`` or ``{"messages": [{"role", "content"}, ...]}``,
  with optional ``output_tokens`` (tokens to generate) and ``id``;
- ShareGPT JSON (what ``vllm bench serve --dataset-name sharegpt`` reads): a list of
  ``{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}, ...]}``; the first
  human turn is the prompt and the answer after it sets the output length (counted in tokens by the caller);
- ``sample``: 66 chat prompts written for this project (Apache-2.0), shipped inside the package.

Selection is deterministic: length filters first, then items ranked by ``sha256("{seed}:{id}")``, so a
smaller ``--dataset-limit`` is a prefix of a larger one on every machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.sources import read_jsonl_gz
from mlx_benchmarks.errors import DatasetError

SAMPLE_FILE = Path(__file__).with_name("chat_prompts_sample.jsonl")
SAMPLE_SHA256 = "5747817fac1c874c9688adbb0fccd5054cd05ac49734662874f15c6e66ab6d4c"
SAMPLE_LICENSE = "Apache-2.0"
SAMPLE_SOURCE = "written for mlx-benchmarks (package file mlx_benchmarks/datasets/chat_prompts_sample.jsonl)"
ROLES = {"system", "user", "assistant", "tool", "developer"}
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bard": "assistant", "bing": "assistant", "system": "system"}


@dataclass(frozen=True)
class PromptItem:
    """One prompt: the chat messages sent, and how many tokens to ask for (None: the run's --gen-tokens)."""

    id: str
    messages: tuple[dict[str, str], ...]
    output_tokens: int | None = None
    reference: str | None = None  # a ShareGPT answer, whose token count becomes output_tokens

    def text(self) -> str:
        return "\n".join(m["content"] for m in self.messages)


@dataclass(frozen=True)
class PromptSet:
    """A prompt dataset and its provenance (recorded in every result's tags)."""

    name: str
    source: str
    license: str
    sha256: str
    items: tuple[PromptItem, ...]

    def provenance(self) -> dict[str, object]:
        return {"dataset": self.name, "dataset_source": self.source, "dataset_license": self.license,
                "dataset_sha256": self.sha256}


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise DatasetError(f"--dataset: cannot read {path}: {exc.strerror or exc}") from exc


def load_prompt_set(spec: str) -> PromptSet:
    """``sample`` or a path to a JSONL or ShareGPT JSON file; DatasetError naming the file (and line)."""
    if spec == "sample":
        digest = file_sha256(SAMPLE_FILE)
        if digest != SAMPLE_SHA256:
            raise DatasetError(f"{SAMPLE_FILE}: checksum {digest[:12]}... is not the packaged {SAMPLE_SHA256[:12]}...; "
                               "reinstall mlx-benchmarks")
        items = tuple(_jsonl_items(SAMPLE_FILE))
        return PromptSet("sample", SAMPLE_SOURCE, SAMPLE_LICENSE, digest, items)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise DatasetError(f"--dataset: {spec} is neither 'random', 'sample' nor a readable file")
    digest = file_sha256(path)
    items = tuple(_sharegpt_items(path) if _starts_with_list(path) else _jsonl_items(path))
    if not items:
        raise DatasetError(f"--dataset: {path} holds no prompt")
    return PromptSet(path.name, f"user file {path}", "as stated by the file's owner", digest, items)


def _starts_with_list(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _jsonl_items(path: Path) -> Iterator[PromptItem]:
    for number, row in enumerate(read_jsonl_gz(path), start=1):
        yield _row_item(row, f"{path} (prompt {number})", f"line{number}")


def _row_item(row: dict[str, Any], where: str, default_id: str) -> PromptItem:
    item_id = str(row.get("id", default_id))
    if "conversations" in row:
        item = _conversation_item(row, where, item_id)
        if item is None:
            raise DatasetError(f"{where}: a conversation needs a human turn followed by an answer")
        return item
    output = row.get("output_tokens")
    if output is not None and (not isinstance(output, int) or isinstance(output, bool) or output < 1):
        raise DatasetError(f"{where}: output_tokens must be a whole number of at least 1")
    if isinstance(row.get("prompt"), str) and row["prompt"].strip():
        return PromptItem(item_id, ({"role": "user", "content": row["prompt"]},), output)
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DatasetError(f"{where}: needs a non-empty \"prompt\" string or a \"messages\" list")
    checked: list[dict[str, str]] = []
    for message in messages:
        if (not isinstance(message, dict) or message.get("role") not in ROLES
                or not isinstance(message.get("content"), str)):
            raise DatasetError(f"{where}: each message needs a role ({', '.join(sorted(ROLES))}) and string content")
        checked.append({"role": message["role"], "content": message["content"]})
    if checked[-1]["role"] == "assistant":
        raise DatasetError(f"{where}: the last message is the assistant's: nothing is left to answer")
    return PromptItem(item_id, tuple(checked), output)


def _conversation_item(row: dict[str, Any], where: str, item_id: str) -> PromptItem | None:
    """The first human turn and the answer after it (as vllm's sharegpt loader); None when there is none."""
    turns = row.get("conversations")
    if not isinstance(turns, list):
        raise DatasetError(f"{where}: \"conversations\" must be a list")
    roles = [(SHAREGPT_ROLES.get(str(t.get("from", "")).lower()), t.get("value")) if isinstance(t, dict)
             else (None, None) for t in turns]
    for i, (role, value) in enumerate(roles[:-1]):
        answer_role, answer = roles[i + 1]
        if role == "user" and isinstance(value, str) and value.strip() and answer_role == "assistant" \
                and isinstance(answer, str) and answer.strip():
            return PromptItem(item_id, ({"role": "user", "content": value},), None, answer)
    return None


def _sharegpt_items(path: Path) -> Iterator[PromptItem]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"--dataset: cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    for index, row in enumerate(rows):
        where = f"{path}[{index}]"
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        if "conversations" not in row:
            yield _row_item(row, where, f"item{index}")
            continue
        item = _conversation_item(row, where, str(row.get("id", f"item{index}")))
        if item is not None:  # conversations without an answered human turn are skipped, as vllm does
            yield item


@dataclass(frozen=True)
class Selection:
    """The prompts a run sends, with their counted lengths, and how many the filters dropped."""

    items: tuple[PromptItem, ...]
    prompt_tokens: tuple[int, ...]
    filtered_out: int


def select_prompts(prompts: PromptSet, *, count: Callable[[str], int], limit: int | None, seed: int,
                   min_tokens: int = 1, max_tokens: int | None = None,
                   max_output_tokens: int | None = None) -> Selection:
    """Length-filtered, seeded, limited; ShareGPT answers are counted into ``output_tokens`` here."""
    kept: list[tuple[str, PromptItem, int]] = []
    for item in prompts.items:
        length = count(item.text())
        if length < min_tokens or (max_tokens is not None and length > max_tokens):
            continue
        if item.reference is not None:
            output = max(1, count(item.reference))
            if max_output_tokens is not None:
                output = min(output, max_output_tokens)
            item = PromptItem(item.id, item.messages, output)
        rank = hashlib.sha256(f"{seed}:{item.id}".encode()).hexdigest()
        kept.append((rank, item, length))
    kept.sort(key=lambda entry: entry[0])
    chosen = kept[:limit] if limit is not None else kept
    if not chosen:
        bounds = f"{min_tokens}..{max_tokens if max_tokens is not None else 'any'}"
        raise DatasetError(f"--dataset {prompts.name}: no prompt of {len(prompts.items)} has {bounds} tokens")
    return Selection(tuple(i for _, i, _ in chosen), tuple(n for _, _, n in chosen), len(prompts.items) - len(kept))
