"""A run's dbt partial parse is kept for the next run: one made with another warehouse
path (a test's, a benchmark's) must not leave every later run parsing in full, and a
build of another file of the same name starts from it too. Of the per-run target folders,
only the newest are kept."""

import json
import os
import shutil
from pathlib import Path

import msgpack
import pytest

from orchestration.dbt_project import (
    PARSES_BY_DATABASE,
    PARTIAL_PARSE,
    duckdb_profile_hash,
    keep_partial_parse,
    prune_run_targets,
    seed_partial_parse,
)
from tests.dbt_cli import run_dbt, target_path

pytestmark = pytest.mark.slow

FULL_PARSE = "Unable to do partial parsing"


def _parse(warehouse: Path, folder: Path, seed: Path | None) -> str:
    """`dbt parse` into folder's target, started from the partial parse `seed` if given."""
    target = target_path(folder)
    target.mkdir(parents=True, exist_ok=True)
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


def _profile_hash(target: Path) -> str:
    state = msgpack.unpackb((target / PARTIAL_PARSE).read_bytes(), strict_map_key=False)
    return state["state_check"]["profile_hash"]["checksum"]


def _relations(folder: Path) -> dict[str, str]:
    manifest = json.loads((target_path(folder) / "manifest.json").read_text())
    return {uid: node["relation_name"] for uid, node in manifest["nodes"].items()}


def test_a_partial_parse_is_made_valid_for_another_file_of_the_same_name(tmp_path):
    kept = tmp_path / "project_target"
    kept.mkdir()
    first = tmp_path / "first" / "warehouse.duckdb"
    second = tmp_path / "second" / "warehouse.duckdb"

    _parse(first, tmp_path / "first_run", None)
    # the hash dbt itself recorded for that file is the one computed without dbt
    assert _profile_hash(target_path(tmp_path / "first_run")) == duckdb_profile_hash(str(first))
    keep_partial_parse(target_path(tmp_path / "first_run"), kept)

    # copied as it is, it makes dbt parse the whole project for the second file...
    assert FULL_PARSE in _parse(second, tmp_path / "plain_copy", kept / PARTIAL_PARSE)
    # ... seeded for that file, dbt starts from it, and parses the same nodes
    assert seed_partial_parse(target_path(tmp_path / "seeded"), str(second), kept)
    assert FULL_PARSE not in _parse(second, tmp_path / "seeded", None)
    assert _relations(tmp_path / "seeded") == _relations(tmp_path / "plain_copy")
    assert _profile_hash(target_path(tmp_path / "seeded")) == duckdb_profile_hash(str(second))

    # the project's parse was left by another database's build (here: unreadable): the
    # one kept under this database's name serves, and with neither dbt parses in full
    (kept / PARTIAL_PARSE).write_bytes(b"not a parse")
    assert seed_partial_parse(target_path(tmp_path / "by_name"), str(second), kept)
    (kept / PARSES_BY_DATABASE / "warehouse.msgpack").unlink()
    assert not seed_partial_parse(target_path(tmp_path / "none_left"), str(second), kept)
    keep_partial_parse(target_path(tmp_path / "first_run"), kept)

    # another file name is another database in every node: dbt is left to parse it
    other = target_path(tmp_path / "other_name")
    assert not seed_partial_parse(other, str(tmp_path / "other.duckdb"), kept)
    assert not other.exists()
    # and a folder that already has a partial parse keeps it
    assert not seed_partial_parse(target_path(tmp_path / "seeded"), str(first), kept)


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
