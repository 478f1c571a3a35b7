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

from orchestration.dbt_project import prune_run_targets
from orchestration.partial_parse import (
    PARSES_BY_DATABASE,
    PARTIAL_PARSE,
    duckdb_database,
    duckdb_profile_hash,
    keep_partial_parse,
    profile_path,
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


def _nodes(folder: Path) -> dict[str, dict]:
    """The parsed nodes of the manifest dbt wrote, without the time each was parsed."""
    manifest = json.loads((target_path(folder) / "manifest.json").read_text())
    return {
        uid: {key: value for key, value in node.items() if key != "created_at"}
        for uid, node in manifest["nodes"].items()
    }


def test_a_partial_parse_is_made_valid_for_another_file_of_the_same_name(tmp_path):
    kept = tmp_path / "project_target"
    kept.mkdir()
    first = tmp_path / "first" / "warehouse.duckdb"
    second = tmp_path / "second" / "warehouse.duckdb"

    _parse(first, tmp_path / "first_run", None)
    # the hash dbt itself recorded for that file is the one computed without dbt
    assert _profile_hash(target_path(tmp_path / "first_run")) == duckdb_profile_hash(str(first))
    keep_partial_parse(target_path(tmp_path / "first_run"), kept, str(first))
    record = json.loads((kept / PARSES_BY_DATABASE / "warehouse.json").read_text())
    assert record["path"] == str(first)

    # copied as it is, it makes dbt parse the whole project for the second file...
    assert FULL_PARSE in _parse(second, tmp_path / "plain_copy", kept / PARTIAL_PARSE)
    # ... seeded for that file, dbt starts from it and ends with the nodes of a full parse
    assert seed_partial_parse(target_path(tmp_path / "seeded"), kept, str(second))
    assert FULL_PARSE not in _parse(second, tmp_path / "seeded", None)
    assert _nodes(tmp_path / "seeded") == _nodes(tmp_path / "plain_copy")
    assert _profile_hash(target_path(tmp_path / "seeded")) == duckdb_profile_hash(str(second))


def test_only_a_parse_made_with_this_profile_for_a_file_of_that_name_is_seeded(tmp_path):
    kept = tmp_path / "project_target"
    kept.mkdir()
    run = tmp_path / "run" / "target"
    run.mkdir(parents=True)
    first = str(tmp_path / "first" / "warehouse.duckdb")
    state = {
        "nodes": {"model.x.a": {"database": "warehouse"}},
        "state_check": {"profile_hash": {"name": "sha256", "checksum": ""}},
    }

    def kept_from(path: str, checksum: str) -> None:
        state["state_check"]["profile_hash"]["checksum"] = checksum
        (run / PARTIAL_PARSE).write_bytes(msgpack.packb(state))
        keep_partial_parse(run, kept, path)

    def seeded(name: str, path: str) -> dict | None:
        target = tmp_path / name
        if not seed_partial_parse(target, kept, path):
            assert not target.exists()
            return None
        return msgpack.unpackb((target / PARTIAL_PARSE).read_bytes(), strict_map_key=False)

    second = str(tmp_path / "second" / "warehouse.duckdb")
    kept_from(first, duckdb_profile_hash(first))
    assert seeded("same_name", second) == {
        **state,
        "state_check": {
            "profile_hash": {"name": "sha256", "checksum": duckdb_profile_hash(second)}
        },
    }
    # another name is another database in every node; none was kept for it
    assert seeded("other_name", str(tmp_path / "other.duckdb")) is None
    # a folder that has a partial parse keeps it
    (tmp_path / "has_one").mkdir()
    (tmp_path / "has_one" / PARTIAL_PARSE).write_bytes(b"dbt's own")
    assert not seed_partial_parse(tmp_path / "has_one", kept, second)
    assert (tmp_path / "has_one" / PARTIAL_PARSE).read_bytes() == b"dbt's own"

    # made with other connection settings: its hash is not its path's, so it stays unused
    kept_from(first, duckdb_profile_hash(first + ".other"))
    assert seeded("other_settings", second) is None
    # a kept file that is not a parse, or a parse whose record is gone, is not used
    kept_from(first, duckdb_profile_hash(first))
    (kept / PARSES_BY_DATABASE / "warehouse.msgpack").write_bytes(b"not a parse")
    assert seeded("unreadable", second) is None
    kept_from(first, duckdb_profile_hash(first))
    (kept / PARSES_BY_DATABASE / "warehouse.json").unlink()
    assert seeded("no_record", second) is None

    # a run that wrote something other than a parse leaves the kept one as it was
    kept_from(first, duckdb_profile_hash(first))
    before = (kept / PARTIAL_PARSE).read_bytes()
    (run / PARTIAL_PARSE).write_bytes(msgpack.packb(state)[:-3])  # cut short
    with pytest.raises(ValueError, match="incomplete input"):
        keep_partial_parse(run, kept, first)
    assert (kept / PARTIAL_PARSE).read_bytes() == before
    assert not [path.name for path in kept.rglob("*.tmp")]


def test_the_path_and_database_dbt_duckdb_derive_from_warehouse_path():
    assert profile_path("/srv/w/warehouse.duckdb") == "/srv/w/warehouse.duckdb"
    assert profile_path("data/warehouse.duckdb") == "../data/warehouse.duckdb"
    assert duckdb_database("../data/warehouse.duckdb") == "warehouse"
    assert duckdb_database("/srv/my.db.duckdb") == "my"
    assert duckdb_database("/srv/.hidden.duckdb") == "hidden"


def test_a_run_that_wrote_no_partial_parse_leaves_the_kept_one(tmp_path):
    kept = tmp_path / "project_target"
    kept.mkdir()
    (kept / PARTIAL_PARSE).write_bytes(b"earlier")
    keep_partial_parse(tmp_path / "empty_run", kept, str(tmp_path / "warehouse.duckdb"))
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
