"""A run's dbt partial parse is kept for the next run: one made with another warehouse
path (a test's, a benchmark's) must not leave every later run parsing in full. Of the
per-run target folders, only the newest are kept."""

import os
import shutil
from pathlib import Path

import pytest

from orchestration.dbt_project import PARTIAL_PARSE, keep_partial_parse, prune_run_targets
from tests.dbt_cli import run_dbt, target_path

pytestmark = pytest.mark.slow

FULL_PARSE = "Unable to do partial parsing"


def _parse(warehouse: Path, folder: Path, seed: Path | None) -> str:
    """`dbt parse` into folder's target, started from the partial parse `seed` if given."""
    target = target_path(folder)
    target.mkdir(parents=True)
    if seed is not None:
        shutil.copyfile(seed, target / PARTIAL_PARSE)
    done = run_dbt(warehouse, folder, "parse", quiet=False)
    assert done.returncode == 0, done.stdout
    return done.stdout


def test_the_partial_parse_of_the_last_run_is_the_one_the_next_run_starts_from(tmp_path):
    kept = tmp_path / "project_target"
    kept.mkdir()
    ours, other = tmp_path / "ours.duckdb", tmp_path / "other.duckdb"

    # a run on another warehouse left its partial parse: ours cannot use it
    _parse(other, tmp_path / "other_run", None)
    keep_partial_parse(target_path(tmp_path / "other_run"), kept)
    assert FULL_PARSE in _parse(ours, tmp_path / "first", kept / PARTIAL_PARSE)

    # that run's own parse is kept, so the next run on the same warehouse parses partially
    keep_partial_parse(target_path(tmp_path / "first"), kept)
    assert (kept / PARTIAL_PARSE).read_bytes() == (
        target_path(tmp_path / "first") / PARTIAL_PARSE
    ).read_bytes()
    assert FULL_PARSE not in _parse(ours, tmp_path / "second", kept / PARTIAL_PARSE)
    assert not list(kept.glob(".*.tmp"))


def test_a_run_that_wrote_no_partial_parse_leaves_the_kept_one(tmp_path):
    kept = tmp_path / "project_target"
    kept.mkdir()
    (kept / PARTIAL_PARSE).write_bytes(b"earlier")
    keep_partial_parse(tmp_path / "empty_run", kept)
    assert (kept / PARTIAL_PARSE).read_bytes() == b"earlier"


def test_only_the_newest_run_target_folders_are_kept(tmp_path):
    target = tmp_path / "target"
    (target / "compiled").mkdir(parents=True)
    (target / "manifest.json").write_text("{}")
    (target / "other_op-1234567-aaaaaaa").mkdir()
    for number in range(12):
        folder = target / f"warehouse_dbt_models-{number:07d}-bbbbbbb"
        folder.mkdir()
        (folder / "dbt.log").write_text("a build's log")
        os.utime(folder, (1_000_000 + number, 1_000_000 + number))
    current = target / "warehouse_dbt_models-current-ccccccc"
    current.mkdir()
    os.utime(current, (0, 0))  # the folder of the build that prunes stays, whatever its age
    # beyond the newest four but started less than a day ago: perhaps still in use
    recent = target / "warehouse_dbt_models-recent0-ddddddd"
    recent.mkdir()
    os.utime(recent, (1_000_005.5, 1_000_005.5))

    removed = prune_run_targets(current, keep=4, now=1_000_005 + 24 * 3600)

    # the newest four stay (current, 11, 10, 9); of the rest, 0-4 are over a day old
    assert sorted(folder.name for folder in removed) == [
        f"warehouse_dbt_models-{number:07d}-bbbbbbb" for number in range(5)
    ]
    assert sorted(path.name for path in target.iterdir()) == [
        "compiled",
        "manifest.json",
        "other_op-1234567-aaaaaaa",
        "warehouse_dbt_models-0000005-bbbbbbb",
        "warehouse_dbt_models-0000006-bbbbbbb",
        "warehouse_dbt_models-0000007-bbbbbbb",
        "warehouse_dbt_models-0000008-bbbbbbb",
        "warehouse_dbt_models-0000009-bbbbbbb",
        "warehouse_dbt_models-0000010-bbbbbbb",
        "warehouse_dbt_models-0000011-bbbbbbb",
        "warehouse_dbt_models-current-ccccccc",
        "warehouse_dbt_models-recent0-ddddddd",
    ]
