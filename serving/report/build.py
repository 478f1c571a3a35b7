"""Render the market report to one self-contained HTML file.

The page embeds plotly.js from the installed plotly package (no CDN), so it opens
offline. It is written next to the final path and renamed into place, so a browser or a
web server never serves half a page.
"""

import html
import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from serving.paths import REPORT_FILE
from serving.report import charts
from serving.report.data import BASKET_PAIR, SMALL_CAP_PAIR, STREAK_PAIR, ReportData, load
from serving.report.summary import markdown

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; }
.meta { color: #666; margin-top: 0; }
.chart { margin: 2rem 0; border-top: 1px solid #ddd; padding-top: 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: left; }
"""


@dataclass(frozen=True)
class Report:
    path: Path
    data_through: date
    charts: list[str]
    summary_markdown: str
    size_bytes: int


def _figures(data: ReportData) -> dict[str, go.Figure]:
    through = data.data_through
    return {
        "ytd-spread": charts.ytd_spread(data.ytd_spreads, through),
        "weekly-streaks": charts.weekly_streaks(data.weekly_streaks, STREAK_PAIR, through),
        "sector-rotation": charts.rotation(data.rotation, through),
        "fed-vs-small-caps": charts.fed_versus_small_caps(
            data.fed_and_spread, data.policy_events, SMALL_CAP_PAIR, through
        ),
        "earnings-growth-gap": charts.growth_gap(data.growth_gap, through),
        "small-caps-vs-mag7": charts.relative_strength_cycles(
            data.basket_strength, data.basket_cycles, BASKET_PAIR, through
        ),
    }


def _markdown_table_to_html(summary: str) -> str:
    """Turn the summary's pipe tables and paragraphs into HTML, escaping every value."""
    parts: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if not table:
            return
        head, *body = table
        cells = "".join(f"<th>{html.escape(cell)}</th>" for cell in head)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in body
        )
        parts.append(f"<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>")
        table.clear()

    for line in summary.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(set(cell) <= {"-"} for cell in cells):
                table.append(cells)
            continue
        flush()
        text = line.strip().strip("*")
        if text:
            parts.append(f"<p>{html.escape(text)}</p>")
    flush()
    return "\n".join(parts)


def render(data: ReportData) -> tuple[str, list[str], str]:
    figures = _figures(data)
    summary = markdown(data)
    sections = [
        f'<section class="chart" id="{name}">'
        + figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config=PLOT_CONFIG
        )
        + "</section>"
        for name, figure in figures.items()
    ]
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Market divergence report, {data.data_through.isoformat()}</title>",
            f"<style>{STYLE}</style>",
            f'<script type="text/javascript">{get_plotlyjs()}</script>',
            "</head><body>",
            "<h1>Market divergence report</h1>",
            f'<p class="meta">Data through {data.data_through.isoformat()}; published '
            f"{html.escape(str(data.published_at))} UTC.</p>",
            _markdown_table_to_html(summary.split("\n", 2)[2]),
            *sections,
            "</body></html>",
        ]
    )
    return page, list(figures), summary


@dataclass(frozen=True)
class Rendered:
    """The page rendered from one serving file, not written yet."""

    page: str
    data_through: date
    charts: list[str]
    summary_markdown: str


def render_file(serving_path: Path) -> Rendered:
    """Read the serving file at `serving_path` and render its page."""
    if not serving_path.exists():
        raise FileNotFoundError(f"no serving database at {serving_path}: publish the marts first")
    with duckdb.connect(str(serving_path), read_only=True) as con:
        data = load(con)
    page, names, summary = render(data)
    return Rendered(page, data.data_through, names, summary)


def write_report(rendered: Rendered, out_dir: Path) -> Report:
    """Write `rendered` to `out_dir`/index.html, staged beside it and renamed into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / REPORT_FILE
    staged = out_dir / f".{REPORT_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        staged.write_text(rendered.page, encoding="utf-8")
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return Report(
        target,
        rendered.data_through,
        rendered.charts,
        rendered.summary_markdown,
        target.stat().st_size,
    )


def build_report(serving_path: Path, out_dir: Path) -> Report:
    """Read the serving file at `serving_path` and write `out_dir`/index.html."""
    return write_report(render_file(serving_path), out_dir)
