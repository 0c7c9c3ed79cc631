"""The front-end files shared by the HTML report and the dashboard, and plotly.js from the installed package."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from mlx_benchmarks.errors import PrerequisiteError

_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def static_text(name: str, package: str = "mlx_benchmarks.report") -> str:
    """A file from a package's ``static/`` folder."""
    return resources.files(package).joinpath("static", name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the ``plotly`` Python package: no CDN, works offline."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise PrerequisiteError("charts need plotly: pip install 'mlx-benchmarks[report]'") from None
    text: str = get_plotlyjs()
    return text


def inline_script(source: str) -> str:
    """JavaScript made safe to sit inside a <script> element (``</script`` would end it early)."""
    return _SCRIPT_END.sub(r"<\\/\1", source)


def inline_json(text: str) -> str:
    """JSON for a <script type="application/json"> element: no ``<``, ``>`` or ``&`` can close or open a tag."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
