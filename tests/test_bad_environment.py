"""A hostile filesystem: a warehouse folder that is missing or read-only, and a disk that
fills up during a publication (a real tiny tmpfs where the machine allows mounting one, and
an injected write error everywhere). The previous publication always stays served."""

import errno
import hashlib
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

import serving.publish as publish_module
from ingestion.loader import WarehouseError, connect
from serving.publish import SERVING_FILE, PublishError, publish


@contextmanager
def tmpfs(folder: Path, size: str, read_only: bool = False):
    """A tmpfs of `size` mounted on `folder`, or a skip where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_missing_warehouse_folder_is_created(tmp_path):
    path = tmp_path / "not" / "yet" / "there" / "warehouse.duckdb"
    con = connect(path)
    con.execute("create table t as select 1 as x")
    con.close()
    assert path.is_file()


def test_a_read_only_warehouse_folder_is_an_error_naming_the_path(tmp_path):
    folder = tmp_path / "readonly"
    if os.geteuid() != 0:
        folder.mkdir()
        folder.chmod(0o555)
        try:
            with pytest.raises(WarehouseError) as caught:
                connect(folder / "warehouse.duckdb")
        finally:
            folder.chmod(0o755)
    else:  # root writes through permissions: a read-only mount it is
        with tmpfs(folder, "1m", read_only=True), pytest.raises(WarehouseError) as caught:
            connect(folder / "warehouse.duckdb")
    assert str(folder / "warehouse.duckdb") in str(caught.value)
    assert str(caught.value).startswith("cannot open the warehouse")


def test_a_warehouse_path_under_a_file_is_an_error_naming_the_folder(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(WarehouseError) as caught:
        connect(tmp_path / "file" / "warehouse.duckdb")
    assert str(caught.value).startswith(f"cannot create the warehouse folder {tmp_path / 'file'}")


def _warehouse(path: Path, rows: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists universe")
        con.execute(
            "create or replace table marts.market_pulse_daily as select "
            "date '2000-01-01' + (i % 9000)::int as session_date, "
            "hash(i)::varchar || hash(i + 1)::varchar as note from range(?) t(i)",
            [rows],
        )
        con.execute("create or replace table universe.pairs as select 'rut_vs_spx' as pair_id")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _served_rows(serving: Path) -> int:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute("select count(*) from marts.market_pulse_daily").fetchone()[0]


def _leftovers(serving_dir: Path) -> list[str]:
    return sorted(p.name for p in serving_dir.rglob(".*") if p.is_file())


def test_a_full_disk_during_publication_keeps_the_previous_one(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    _warehouse(warehouse, 1_000)
    with tmpfs(tmp_path / "serving", "3m") as serving_dir:
        with duckdb.connect(str(warehouse)) as con:
            publish(con, serving_dir)
        serving = serving_dir / SERVING_FILE
        before = _digest(serving)

        _warehouse(warehouse, 400_000)  # about 20 MB of text: cannot fit
        with duckdb.connect(str(warehouse)) as con, pytest.raises(PublishError) as caught:
            publish(con, serving_dir)
        assert str(caught.value).startswith(
            f"publishing to {serving_dir} failed, the previous publication is still served"
        )
        assert _digest(serving) == before
        assert _served_rows(serving) == 1_000
        assert _leftovers(serving_dir) == []

        # Space again (the data shrank): the next publication goes through.
        _warehouse(warehouse, 2_000)
        with duckdb.connect(str(warehouse)) as con:
            publish(con, serving_dir)
        assert _served_rows(serving) == 2_000


@pytest.mark.parametrize("failing", ["serving", "parquet"])
def test_an_injected_write_error_keeps_the_previous_files(tmp_path, monkeypatch, failing):
    warehouse, serving_dir = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    _warehouse(warehouse, 1_000)
    with duckdb.connect(str(warehouse)) as con:
        publish(con, serving_dir)
    serving = serving_dir / SERVING_FILE
    parquet = serving_dir / "parquet" / "market_pulse_daily.parquet"
    before = (_digest(serving), _digest(parquet))
    real_replace = os.replace

    def full_disk(source, target):
        if Path(target).name == (SERVING_FILE if failing == "serving" else parquet.name):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(publish_module.os, "replace", full_disk)
    _warehouse(warehouse, 2_000)
    with duckdb.connect(str(warehouse)) as con, pytest.raises(PublishError) as caught:
        publish(con, serving_dir)
    assert "No space left on device" in str(caught.value)
    assert (_digest(serving), _digest(parquet)) == (
        before if failing == "serving" else (_digest(serving), before[1])
    )
    assert _served_rows(serving) == (1_000 if failing == "serving" else 2_000)
    assert _leftovers(serving_dir) == []


def test_leftovers_of_a_killed_publication_are_removed_by_the_next(tmp_path):
    warehouse, serving_dir = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    _warehouse(warehouse, 10)
    (serving_dir / "parquet").mkdir(parents=True)
    stale = [
        serving_dir / f".{SERVING_FILE}.0123abcd.tmp",
        serving_dir / f".{SERVING_FILE}.0123abcd.tmp.wal",
        serving_dir / "parquet" / ".market_pulse_daily.4567ef.tmp",
    ]
    for path in stale:
        path.write_bytes(b"half written")
    kept = serving_dir / "notes.txt"
    kept.write_text("not ours")
    with duckdb.connect(str(warehouse)) as con:
        publish(con, serving_dir)
    assert _leftovers(serving_dir) == []
    assert kept.read_text() == "not ours"
