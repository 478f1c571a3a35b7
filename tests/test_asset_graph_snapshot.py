"""The code location's graph, rendered as text and compared with a committed snapshot.

Assets (deps, group, kinds, pools, partitions, freshness, automation), asset checks, jobs,
schedules and sensors: a change to any of them shows as a diff of
tests/snapshots/asset_graph.txt, to be reviewed and committed with the change. Nothing
that depends on the environment (the partitions' start date, paths) is rendered.

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_asset_graph_snapshot.py

rewrites the snapshot from the current code.
"""

import difflib
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"
REGENERATE = "UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_asset_graph_snapshot.py"
INDENT = "    "


def _enum(value: Any) -> str:
    return getattr(value, "value", str(value))


def _delta(value: Any) -> str:
    """A (serializable) timedelta as days and seconds, e.g. `4d`, `0d 19800s`."""
    days, seconds = value.days, value.seconds
    return f"{days}d" if not seconds else f"{days}d {seconds}s"


def _freshness(policy: Any) -> str:
    if policy is None:
        return "none"
    name = type(policy).__name__
    if hasattr(policy, "deadline_cron"):
        return (
            f"{name}(deadline_cron={policy.deadline_cron!r}, "
            f"lower_bound_delta={_delta(policy.serializable_lower_bound_delta)}, "
            f"timezone={policy.timezone!r})"
        )
    if hasattr(policy, "fail_window"):
        warn = _delta(policy.warn_window) if policy.warn_window else "none"
        return f"{name}(fail_window={_delta(policy.fail_window)}, warn_window={warn})"
    return name


def _condition_lines(condition: Any, depth: int = 0) -> list[str]:
    """One line per node of an automation condition: its name, [label] and (description)."""
    line = INDENT * depth + condition.name
    label = condition.get_label()
    if label:
        line += f" [{label}]"
    if condition.description:
        line += f" ({condition.description})"
    return [line] + [
        nested for child in condition.children for nested in _condition_lines(child, depth + 1)
    ]


def _condition_id(lines: list[str]) -> str:
    """A name for a condition that stays put while the condition does: its root and a hash."""
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:10]
    return f"{lines[0].split(' ')[0]}#{digest}"


def _keys(keys: Any) -> list[str]:
    return sorted(key.to_user_string() for key in keys)


def _listed(title: str, items: list[str]) -> list[str]:
    """`title: none`, or the title and one indented line per item."""
    if not items:
        return [f"{INDENT}{title}: none"]
    return [f"{INDENT}{title}:", *(INDENT * 2 + item for item in items)]


def render_asset_graph(defs: Any) -> str:
    """The definitions' assets, checks, jobs, schedules and sensors, sorted, as text."""
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    conditions: dict[str, list[str]] = {}
    out = [
        "# The asset graph of orchestration.definitions.defs (tests/test_asset_graph_snapshot.py).",
        f"# Regenerate: {REGENERATE}",
        "",
        "[assets]",
    ]
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.path):
        node = graph.get(key)
        automation = "none"
        if node.automation_condition is not None:
            lines = _condition_lines(node.automation_condition)
            automation = _condition_id(lines)
            conditions[automation] = lines
        partitions = node.partitions_def
        backfill = node.backfill_policy
        out += [
            key.to_user_string(),
            f"{INDENT}group: {node.group_name}",
            f"{INDENT}kinds: {', '.join(sorted(node.kinds)) or 'none'}",
            f"{INDENT}pools: {', '.join(sorted(node.pools or ())) or 'none'}",
            f"{INDENT}partitions: {type(partitions).__name__ if partitions else 'none'}",
            f"{INDENT}backfill policy: {_enum(backfill.policy_type) if backfill else 'none'}",
            f"{INDENT}freshness: {_freshness(node.freshness_policy)}",
            f"{INDENT}automation: {automation}",
            *_listed("deps", _keys(node.parent_keys)),
        ]
    out += ["", "[automation conditions]"]
    for name in sorted(conditions):
        out += [name, *(INDENT + line for line in conditions[name])]
    out += ["", "[asset checks]"]
    for check in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.path, k.name)):
        blocking = "blocking" if graph.get_check_spec(check).blocking else "not blocking"
        out.append(f"{check.asset_key.to_user_string()}: {check.name} ({blocking})")
    out += ["", "[jobs]"]
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):  # Dagster's implicit job of all assets
            continue
        partitions = job.partitions_def
        out += [
            job.name,
            f"{INDENT}executor: {job.executor_def.name}",
            f"{INDENT}partitions: {type(partitions).__name__ if partitions else 'none'}",
            f"{INDENT}checks: {len(job.asset_layer.asset_graph.asset_check_keys)}",
            *_listed("assets", _keys(job.asset_layer.selected_asset_keys)),
        ]
    out += ["", "[schedules]"]
    for schedule in sorted(repository.schedule_defs, key=lambda s: s.name):
        out += [
            schedule.name,
            f"{INDENT}job: {schedule.job_name}",
            f"{INDENT}cron: {schedule.cron_schedule}",
            f"{INDENT}timezone: {schedule.execution_timezone}",
            f"{INDENT}default status: {_enum(schedule.default_status)}",
        ]
    out += ["", "[sensors]"]
    for sensor in sorted(repository.sensor_defs, key=lambda s: s.name):
        jobs = sorted(target.job_name for target in sensor.targets)
        selection = sensor.asset_selection
        out += [
            sensor.name,
            f"{INDENT}type: {_enum(sensor.sensor_type)}",
            f"{INDENT}minimum interval: {sensor.minimum_interval_seconds} s",
            f"{INDENT}default status: {_enum(sensor.default_status)}",
            f"{INDENT}jobs: {', '.join(jobs) or 'none'}",
            f"{INDENT}asset selection: {selection if selection is not None else 'none'}",
        ]
    return "\n".join(out) + "\n"


def test_the_asset_graph_matches_its_snapshot() -> None:
    from orchestration.definitions import defs

    rendered = render_asset_graph(defs)
    if os.environ.get("UPDATE_SNAPSHOTS", "").strip().lower() in ("1", "true", "yes"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered, encoding="utf-8")
        return
    committed = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if rendered != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                fromfile="tests/snapshots/asset_graph.txt (committed)",
                tofile="orchestration.definitions.defs (rendered now)",
            )
        )
        pytest.fail(
            f"The asset graph differs from its snapshot:\n{diff}\n"
            f"If the change is intended, regenerate the snapshot and commit it:\n  {REGENERATE}",
            pytrace=False,
        )
