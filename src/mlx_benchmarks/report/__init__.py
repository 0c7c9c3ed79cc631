"""The self-contained HTML report (``mlx-bench report --html``) and the front-end files it shares with the dashboard."""

from __future__ import annotations

from mlx_benchmarks.report.html import render_report, report_data, write_report

__all__ = ["render_report", "report_data", "write_report"]
