"""The packaged chat-prompt sample (``throughput --dataset sample``) as a registered dataset, so
``mlx-bench datasets list|info`` show its source, licence and checksum like every other dataset."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.prompts import SAMPLE_LICENSE, SAMPLE_SOURCE, load_prompt_set


class ChatPromptSample:
    """Chat prompts written for mlx-benchmarks; the speed suite sends them as they are (no answers)."""

    name = "chat_prompts_sample"
    license = SAMPLE_LICENSE
    attribution = "mlx-benchmarks authors"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return SAMPLE_SOURCE

    def extract(self, data: Path | None) -> list[Record]:
        prompts = load_prompt_set("sample")  # checks the packaged file's sha256
        return [Record(id=f"{self.name}/{item.id}", task=self.name, prompt=item.text(), answer="",
                       meta={"messages": [dict(m) for m in item.messages], "output_tokens": item.output_tokens})
                for item in prompts.items]


LOADER = ChatPromptSample()
