"""The GNLC pack's charts: one PNG a table, drawn with matplotlib's Agg backend.

A table with no rows is drawn as a plain panel that says so, not as empty axes. A suppressed
cell ("<5") is drawn as no bar with "<5" written beside it, so the picture does not tell what
the table hides. Matplotlib is imported only here, when a chart is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from catalogue.reports.gnlc import SUPPRESSED
from catalogue.reports.gnlc import Cell

WIDTH, HEIGHT, DPI = 8.0, 4.2, 100
BAR_COLOUR = "#2b6cb0"
MAX_BARS = 15  # the largest; the CSV and the PDF's table have all
LABEL_LENGTH = 32


@dataclass(frozen=True)
class Chart:
    title: str
    labels: Sequence[str]
    values: Sequence[Cell]
    nothing: str  # what the panel says when there is nothing to draw
    over_time: bool = False  # vertical bars in order (days); else horizontal, largest on top


def _shorten(text: str, limit: int = LABEL_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chart_png(chart: Chart) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_title(_shorten(chart.title, 80))
    if not chart.labels:
        _no_data(axes, chart.nothing)
    elif chart.over_time:
        _over_time(axes, chart)
    else:
        _ranked(axes, chart)
    buffer = io.BytesIO()
    # The fastest zlib level: a chart is drawn for every pack, and a few KB more do not matter.
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _no_data(axes, nothing: str) -> None:
    """A plain panel: no axes, no ticks, one sentence in the middle."""
    axes.set_axis_off()
    axes.text(
        0.5,
        0.5,
        nothing,
        ha="center",
        va="center",
        fontsize=14,
        color="#4a5568",
        transform=axes.transAxes,
    )


def _heights(values: Sequence[Cell]) -> list[float]:
    return [0.0 if value == SUPPRESSED else float(value) for value in values]


def _ranked(axes, chart: Chart) -> None:
    labels = [_shorten(label) for label in chart.labels[:MAX_BARS]][::-1]
    values = list(chart.values[:MAX_BARS])[::-1]
    positions = list(range(len(labels)))
    axes.barh(positions, _heights(values), color=BAR_COLOUR)
    axes.set_yticks(positions, labels)
    for position, value in zip(positions, values, strict=True):
        if value == SUPPRESSED:
            axes.text(0, position, " " + SUPPRESSED, va="center", ha="left", color="#4a5568")
    axes.set_xlim(left=0)


def _over_time(axes, chart: Chart) -> None:
    """One stroke a day: a year of days is one artist, drawn in a fraction of 365 bars' time."""
    positions = list(range(len(chart.labels)))
    width = max(1.0, min(12.0, 400 / max(1, len(positions))))
    axes.vlines(positions, 0, _heights(chart.values), colors=BAR_COLOUR, linewidth=width)
    axes.set_xlim(-1, len(positions))
    step = max(1, len(positions) // 12)
    axes.set_xticks(positions[::step], list(chart.labels)[::step], rotation=45, ha="right")
    axes.set_ylim(bottom=0)
