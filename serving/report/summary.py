"""The report's short markdown summary: latest streaks, leading sectors and the stocks
furthest ahead of and behind their sectors.

Dagster shows it on the report's materialization; the HTML page shows the same facts.
"""

import pandas as pd

from serving.report.data import ReportData


def _streak_line(row: pd.Series) -> str:
    long_symbol, short_symbol = (part.upper() for part in str(row["pair_id"]).split("_vs_"))
    unit = "session" if row["frequency"] == "daily" else "week"
    length = int(row["current_length"])
    if row["current_leader"] == "long":
        leader = long_symbol
    elif row["current_leader"] == "short":
        leader = short_symbol
    else:
        leader = "neither"
    plural = "" if length == 1 else "s"
    rank = "" if pd.isna(row["current_rank"]) else f" (rank {int(row['current_rank'])})"
    return f"| {row['pair_id']} | {row['frequency']} | {leader} | {length} {unit}{plural}{rank} |"


def markdown(data: ReportData) -> str:
    lines = [
        f"**Market report, data through {data.data_through.isoformat()}**",
        "",
        "Latest streaks",
        "",
        "| pair | cadence | leader | streak |",
        "|---|---|---|---|",
    ]
    for frequency in ("daily", "weekly"):
        rows = data.streak_status[data.streak_status["frequency"] == frequency]
        lines += [_streak_line(row) for _, row in rows.iterrows()]
    sectors = data.leading_sectors
    week = sectors["week_ending"].max()
    leading = sectors[sectors["quadrant"] == "leading"].sort_values("rs_ratio", ascending=False)
    lines += ["", f"Leading sectors, week ending {pd.Timestamp(week):%Y-%m-%d}", ""]
    if leading.empty:
        lines.append("No sector is in the leading quadrant this week.")
    else:
        lines += ["| sector | ETF | RS-ratio | RS-momentum |", "|---|---|---|---|"]
        lines += [
            f"| {row['sector']} | {row['sector_symbol']} | {row['rs_ratio']:.1f} "
            f"| {row['rs_momentum']:.1f} |"
            for _, row in leading.iterrows()
        ]
    lines += _movers(data.stock_movers)
    return "\n".join(lines) + "\n"


def _movers(movers: pd.DataFrame) -> list[str]:
    if movers.empty:
        return ["", "No stock has 13 weeks of history against its sector yet."]
    week = pd.Timestamp(movers["week_ending"].max())
    lines = [
        "",
        f"Stock leaders and laggards against their sector, 13 weeks to {week:%Y-%m-%d}",
        "",
        "| side | stock | sector ETF | 1 week | 13 weeks | vs sector | from high |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['side']} | {row['symbol']} | {row['sector_symbol']} | {row['return_1w']:+.1%} "
        f"| {row['return_13w']:+.1%} | {row['relative_to_sector_13w']:+.1%} "
        f"| {row['drawdown_from_high']:.1%} |"
        for _, row in movers.iterrows()
    ]
    return lines
