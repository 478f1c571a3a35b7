"""The report's charts, one plotly figure per function, built from `ReportData` frames.

Every figure carries a title with its data date and labelled axes with units; colours
are fixed so the long leg, the short leg and the quadrants read the same in every chart.
"""

import math
from datetime import date

import pandas as pd
import plotly.graph_objects as go

LONG_COLOUR = "#1b7837"
SHORT_COLOUR = "#b2182b"
FED_COLOUR = "#2166ac"
QUADRANTS = {
    # name: (x0, x1, y0, y1) relative to the 100/100 centre, colour
    "Leading": ((100, None), (100, None), "rgba(27,120,55,0.10)"),
    "Weakening": ((100, None), (None, 100), "rgba(230,171,2,0.12)"),
    "Lagging": ((None, 100), (None, 100), "rgba(178,24,43,0.10)"),
    "Improving": ((None, 100), (100, None), "rgba(33,102,172,0.10)"),
}
LAYOUT = {
    "template": "plotly_white",
    "height": 460,
    "margin": {"l": 70, "r": 70, "t": 70, "b": 60},
    "legend": {"orientation": "h", "y": -0.18},
    "hovermode": "x unified",
}


def _title(text: str, through: date) -> dict[str, object]:
    return {"text": f"{text}<br><sup>data through {through.isoformat()}</sup>", "x": 0.01}


def ytd_spread(frame: pd.DataFrame, through: date) -> go.Figure:
    figure = go.Figure()
    for pair_id, rows in frame.groupby("pair_id", sort=True):
        figure.add_trace(
            go.Scatter(
                x=rows["session_date"],
                y=rows["spread_ytd"],
                mode="lines",
                name=str(pair_id),
                hovertemplate="%{y:.2%}",
            )
        )
    figure.add_hline(y=0, line={"color": "#444", "width": 1})
    figure.update_layout(
        **LAYOUT,
        title=_title(f"Cumulative {through.year} spread of each pair (long minus short)", through),
        xaxis_title="Session date",
        yaxis={"title": "YTD return spread (%)", "tickformat": ".1%"},
    )
    return figure


def weekly_streaks(frame: pd.DataFrame, pair_id: str, through: date) -> go.Figure:
    long_led = frame["leader"] == "long"
    signed = frame["length"].where(long_led, -frame["length"])
    colours = [LONG_COLOUR if led else SHORT_COLOUR for led in long_led]
    long_symbol, short_symbol = (part.upper() for part in pair_id.split("_vs_"))
    figure = go.Figure(
        go.Bar(
            x=frame["streak_start"],
            y=signed,
            # Each bar spans its streak's weeks, so the whole history reads as a timeline.
            width=(
                (pd.to_datetime(frame["streak_end"]) - pd.to_datetime(frame["streak_start"]))
                .dt.total_seconds()
                .add(5 * 86400)
                .mul(1000)
            ),
            offset=0,
            marker_color=colours,
            marker_line_width=0,
            customdata=frame[["streak_end", "cumulative_spread"]],
            hovertemplate=(
                "%{x|%Y-%m-%d} to %{customdata[0]|%Y-%m-%d}: %{y} weeks, "
                "spread %{customdata[1]:.2%}<extra></extra>"
            ),
            name="streak",
        )
    )
    figure.add_hline(y=0, line={"color": "#444", "width": 1})
    since = f", every streak since {frame['streak_start'].min():%Y-%m-%d}" if len(frame) else ""
    figure.update_layout(
        **LAYOUT,
        title=_title(
            f"Weekly outperformance streaks of {pair_id} "
            f"(up: {long_symbol} leads, down: {short_symbol} leads){since}",
            through,
        ),
        xaxis_title="Streak start (week)",
        yaxis_title="Streak length (weeks)",
        showlegend=False,
    )
    return figure


def rotation(frame: pd.DataFrame, through: date) -> go.Figure:
    figure = go.Figure()
    span = max(abs(frame["rs_ratio"] - 100).max(), abs(frame["rs_momentum"] - 100).max(), 1.0)
    edge = 100 + span * 1.15
    low = 100 - span * 1.15
    for name, ((x0, x1), (y0, y1), colour) in QUADRANTS.items():
        x0, x1 = x0 or low, x1 or edge
        y0, y1 = y0 or low, y1 or edge
        figure.add_shape(
            type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=colour, line_width=0, layer="below"
        )
        figure.add_annotation(
            x=x1 if x1 == edge else x0,
            y=y1 if y1 == edge else y0,
            xanchor="right" if x1 == edge else "left",
            yanchor="top" if y1 == edge else "bottom",
            text=name,
            showarrow=False,
            font={"size": 13, "color": "#555"},
        )
    latest = {}
    for symbol, rows in frame.groupby("sector_symbol", sort=True):
        sizes = [6] * (len(rows) - 1) + [12]
        latest[str(symbol)] = (rows["rs_ratio"].iloc[-1], rows["rs_momentum"].iloc[-1])
        figure.add_trace(
            go.Scatter(
                x=rows["rs_ratio"],
                y=rows["rs_momentum"],
                mode="lines+markers",
                marker={"size": sizes},
                name=f"{symbol} ({rows['sector'].iloc[-1]})",
                customdata=rows[["week_ending", "quadrant"]],
                hovertemplate=(
                    f"{symbol} %{{customdata[0]|%Y-%m-%d}}: ratio %{{x:.1f}}, "
                    "momentum %{y:.1f} (%{customdata[1]})<extra></extra>"
                ),
            )
        )
    scale = (ROTATION_PLOT_PX[0] / (edge - low), ROTATION_PLOT_PX[1] / (edge - low))
    for symbol, (dx, dy) in place_labels(latest, low, edge, scale).items():
        x, y = latest[symbol]
        figure.add_annotation(
            x=x,
            y=y,
            ax=dx,
            ay=dy,
            text=symbol,
            showarrow=True,
            arrowhead=0,
            arrowwidth=0.8,
            arrowcolor="#777",
            standoff=6,
            font={"size": 12, "color": "#222"},
            bgcolor="rgba(255,255,255,0.7)",
        )
    weeks = frame["week_ending"].nunique()
    figure.update_layout(
        **{**LAYOUT, "height": 600, "hovermode": "closest"},
        title=_title(
            f"Relative rotation of the sector ETFs against SPY ({weeks}-week trails, "
            "large dot = latest week)",
            through,
        ),
        xaxis={"title": "RS-ratio (index, 100 = in line with SPY)", "range": [low, edge]},
        yaxis={"title": "RS-momentum (index, 100 = steady)", "range": [low, edge]},
    )
    return figure


# The rotation chart's plot area in pixels at the report's width (1100 px page; 600 px tall
# less its margins and the legend below), used to keep the sector labels apart.
ROTATION_PLOT_PX = (960.0, 382.0)
LABEL_HEIGHT_PX = 18.0
LABEL_CHAR_PX = 8.0
# Where a label may sit, as pixel offsets of its centre from its dot (y grows downwards):
# close around the dot first, then further out.
LABEL_OFFSETS = [
    (dx * reach, dy * reach)
    for reach in (1.0, 1.8, 2.6, 3.4)
    for dx, dy in ((0, -18), (0, 18), (30, 0), (-30, 0), (26, -18), (-26, -18), (26, 18),
                   (-26, 18))
]  # fmt: skip


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The area two boxes (x0, y0, x1, y1) share."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0.0) * max(height, 0.0)


def place_labels(
    points: dict[str, tuple[float, float]],
    low: float,
    high: float,
    scale: tuple[float, float],
) -> dict[str, tuple[float, float]]:
    """A pixel offset for each point's label so that no two labels and no label and dot meet.

    Greedy, from the most crowded point out: each label takes the first offset of
    LABEL_OFFSETS whose box stays inside the plot and clear of every dot and of the labels
    already placed (or, if none is clear, the one that overlaps least).
    """
    pixel = {name: ((x - low) * scale[0], (high - y) * scale[1]) for name, (x, y) in points.items()}
    dots = [(px - 7, py - 7, px + 7, py + 7) for px, py in pixel.values()]
    width, height = (high - low) * scale[0], (high - low) * scale[1]

    def crowding(name: str) -> float:
        px, py = pixel[name]
        return -sum(math.hypot(px - qx, py - qy) < 60 for qx, qy in pixel.values())

    placed: list[tuple[float, float, float, float]] = []
    offsets: dict[str, tuple[float, float]] = {}
    for name in sorted(pixel, key=lambda n: (crowding(n), n)):
        px, py = pixel[name]
        half = (len(name) * LABEL_CHAR_PX + 8) / 2, LABEL_HEIGHT_PX / 2
        best, best_cost = LABEL_OFFSETS[0], math.inf
        for dx, dy in LABEL_OFFSETS:
            box = (px + dx - half[0], py + dy - half[1], px + dx + half[0], py + dy + half[1])
            outside = box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height
            cost = sum(_overlap(box, other) for other in (*placed, *dots)) + 1e6 * outside
            if cost < best_cost:
                best, best_cost = (dx, dy), cost
            if cost == 0:
                break
        dx, dy = best
        placed.append((px + dx - half[0], py + dy - half[1], px + dx + half[0], py + dy + half[1]))
        offsets[name] = best
    return offsets


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick spacing (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` ticks."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def fed_versus_small_caps(
    frame: pd.DataFrame, events: pd.DataFrame, pair_id: str, through: date
) -> go.Figure:
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=frame["session_date"],
            y=frame["fed_target_lower"],
            mode="lines",
            line={"color": FED_COLOUR, "width": 1, "shape": "hv"},
            name="Fed target, lower bound",
            hovertemplate="%{y:.2f}%",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=frame["session_date"],
            y=frame["fed_target_upper"],
            mode="lines",
            fill="tonexty",
            fillcolor="rgba(33,102,172,0.18)",
            line={"color": FED_COLOUR, "width": 1, "shape": "hv"},
            name="Fed target, upper bound",
            hovertemplate="%{y:.2f}%",
        )
    )
    for action, symbol, colour in (
        ("cut", "triangle-down", LONG_COLOUR),
        ("hike", "triangle-up", SHORT_COLOUR),
    ):
        moves = events[events["action"] == action]
        figure.add_trace(
            go.Scatter(
                x=moves["event_date"],
                y=moves["target_upper"],
                mode="markers",
                marker={"symbol": symbol, "size": 11, "color": colour},
                name=f"{action} ({len(moves)})",
                customdata=moves[["change_bps"]],
                hovertemplate=f"{action} %{{customdata[0]:+.0f}} bp<extra></extra>",
            )
        )
    long_symbol, short_symbol = (part.upper() for part in pair_id.split("_vs_"))
    figure.add_trace(
        go.Scatter(
            x=frame["session_date"],
            y=frame["rs_rebased"],
            mode="lines",
            line={"color": "#762a83", "width": 1.5},
            name=f"{long_symbol}/{short_symbol} relative strength",
            yaxis="y2",
            hovertemplate="%{y:.1f}",
        )
    )
    start = frame["session_date"].min()
    step = nice_step(frame["rs_rebased"].max() - frame["rs_rebased"].min())
    ratio_range = [
        math.floor(frame["rs_rebased"].min() / step) * step,
        math.ceil(frame["rs_rebased"].max() / step) * step,
    ]
    figure.update_layout(
        **LAYOUT,
        title=_title(
            f"Fed target range, cuts and hikes, against small caps ({long_symbol} vs "
            f"{short_symbol})",
            through,
        ),
        xaxis_title="Date",
        yaxis={"title": "Fed funds target range (% per year)", "rangemode": "tozero"},
        yaxis2={
            "title": f"{long_symbol}/{short_symbol} price ratio (rebased, {start:%Y-%m-%d} = 100)",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickmode": "linear",
            "tick0": 0,
            "dtick": step,
            "range": ratio_range,
        },
    )
    return figure


def relative_strength_cycles(
    line: pd.DataFrame, cycles: pd.DataFrame, pair_id: str, through: date
) -> go.Figure:
    """The pair's relative-strength line with each underwater stretch shaded from its peak
    to its recovery (or to the last session while it lasts), the current one darker."""
    long_symbol, short_symbol = (part.upper() for part in pair_id.split("_vs_"))
    figure = go.Figure(
        go.Scatter(
            x=line["session_date"],
            y=line["rs_rebased"],
            mode="lines",
            line={"color": "#762a83", "width": 1.5},
            name=f"{long_symbol}/{short_symbol} relative strength",
            hovertemplate="%{y:.1f}",
        )
    )
    last = line["session_date"].max() if len(line) else through
    for row in cycles.itertuples():
        end = row.recovery_date if pd.notna(row.recovery_date) else last
        figure.add_vrect(
            x0=row.peak_date,
            x1=end,
            fillcolor=SHORT_COLOUR,
            opacity=0.22 if row.is_current else 0.12,
            line_width=0,
            layer="below",
        )
    figure.update_layout(
        **LAYOUT,
        title=_title(
            f"{long_symbol} against the {short_symbol} basket: relative strength, "
            f"its {len(cycles)} underwater stretches shaded",
            through,
        ),
        xaxis_title="Session date",
        yaxis_title=f"{long_symbol}/{short_symbol} ratio (rebased, first session = 100)",
    )
    return figure


def growth_gap(frame: pd.DataFrame, through: date) -> go.Figure:
    figure = go.Figure()
    series = (
        (0, "small_minus_large", "Small minus large, current fiscal year", "dot", LONG_COLOUR),
        (1, "small_minus_large", "Small minus large, next fiscal year", "solid", LONG_COLOUR),
        (1, "tech_minus_small", "Tech minus small, next fiscal year", "solid", FED_COLOUR),
    )
    for years_ahead, column, name, dash, colour in series:
        rows = frame[frame["years_ahead"] == years_ahead]
        figure.add_trace(
            go.Scatter(
                x=rows["as_of_date"],
                y=rows[column],
                mode="lines+markers",
                line={"dash": dash, "color": colour},
                marker={"size": 4},
                name=name,
                hovertemplate="%{y:.2%}",
            )
        )
    figure.add_hline(y=0, line={"color": "#444", "width": 1})
    figure.update_layout(
        **LAYOUT,
        title=_title("Earnings growth gap: expected EPS growth differences", through),
        xaxis_title="Estimate snapshot date",
        yaxis={"title": "Growth difference (percentage points)", "tickformat": ".1%"},
    )
    return figure
