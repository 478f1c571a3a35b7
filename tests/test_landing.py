"""The estimates landing zone: good drops load once and are archived, bad ones are
quarantined with their reason and change nothing stored."""

import hashlib
import os
import re
from datetime import date
from pathlib import Path

import pytest

from ingestion.config import Settings
from ingestion.landing import (
    MAX_FILE_BYTES,
    estimates_zone,
    process_landing_zone,
)
from ingestion.loader import connect

HEADER = "as_of_date,universe,fiscal_year,eps_growth_pct,source\n"
GOOD = (
    HEADER + "2024-03-01,russell_2000,2024,11.5,factset\n"
    "2024-03-01,russell_2000,2025,14.25,\n"
    "2024-04-01,sp500,2024,8.0,analyst\n"
)


@pytest.fixture
def zone(tmp_path) -> Path:
    folder = tmp_path / "landing" / "estimates"
    folder.mkdir(parents=True)
    return folder


def drop(zone: Path, name: str, body: str | bytes) -> Path:
    path = zone / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
    return path


def stored(con) -> list[tuple]:
    return con.execute(
        "select universe, fiscal_year, as_of_date, eps_growth_pct, source "
        "from raw.earnings_estimates order by all"
    ).fetchall()


def run(con, zone: Path):
    messages: list[str] = []
    report = process_landing_zone(con, zone, messages.append)
    return report, messages


def test_the_zone_is_under_the_landing_dir(tmp_path):
    settings = Settings.from_env(
        {"SAMPLE_END_DATE": "2024-03-28", "LANDING_DIR": str(tmp_path / "land")}
    )
    assert estimates_zone(settings) == tmp_path / "land" / "estimates"


def test_a_good_file_is_loaded_and_archived(con, zone):
    drop(zone, "q1-2024.csv", GOOD)
    report, messages = run(con, zone)

    assert stored(con) == [
        ("russell_2000", 2024, date(2024, 3, 1), 11.5, "factset"),
        ("russell_2000", 2025, date(2024, 3, 1), 14.25, "landing"),
        ("sp500", 2024, date(2024, 4, 1), 8.0, "analyst"),
    ]
    [landed] = report.loaded
    assert (landed.name, landed.archived_as) == ("q1-2024.csv", zone / "archive" / "q1-2024.csv")
    assert (landed.result.received, landed.result.inserted) == (3, 3)
    assert (zone / "archive" / "q1-2024.csv").read_text(encoding="utf-8") == GOOD
    assert not (zone / "q1-2024.csv").exists()
    assert report.quarantined == {}
    assert con.execute(
        "select asset, provider, window_start, window_end, rows_received, rows_inserted, status "
        "from raw.load_log"
    ).fetchall() == [
        ("raw/earnings_estimates", "landing", date(2024, 3, 1), date(2024, 4, 1), 3, 3, "success")
    ]
    assert messages[-1] == (
        f"landing zone {zone}: 1 file(s) loaded (3 rows: 3 inserted, 0 updated, 0 unchanged), "
        "0 quarantined"
    )


def test_the_same_file_dropped_twice_loads_once(con, zone):
    drop(zone, "q1.csv", GOOD)
    run(con, zone)
    drop(zone, "q1.csv", GOOD)
    report, _ = run(con, zone)
    [landed] = report.loaded
    assert (landed.result.inserted, landed.result.updated, landed.result.unchanged) == (0, 0, 3)
    assert len(stored(con)) == 3
    # The archive keeps both drops: the second under a content-hash suffix.
    digest = hashlib.sha256(GOOD.encode()).hexdigest()[:16]
    assert landed.archived_as == zone / "archive" / f"q1.{digest}.csv"
    assert {p.name for p in (zone / "archive").iterdir()} == {"q1.csv", f"q1.{digest}.csv"}
    # A third identical drop gets a numbered name rather than overwriting the second.
    drop(zone, "q1.csv", GOOD)
    report, _ = run(con, zone)
    assert report.loaded[0].archived_as == zone / "archive" / f"q1.{digest}-2.csv"
    assert len(list((zone / "archive").iterdir())) == 3
    assert con.execute("select sum(rows_inserted) from raw.load_log").fetchone() == (3,)


def test_files_load_in_name_order_and_a_later_file_restates(con, zone):
    drop(zone, "b.csv", HEADER + "2024-03-01,russell_2000,2024,10.0,revised\n")
    drop(zone, "a.csv", GOOD)
    report, _ = run(con, zone)
    assert [f.name for f in report.loaded] == ["a.csv", "b.csv"]
    assert report.loaded[1].result.updated == 1
    assert ("russell_2000", 2024, date(2024, 3, 1), 10.0, "revised") in stored(con)


def test_a_bad_file_is_quarantined_and_changes_nothing_stored(con, zone):
    drop(zone, "good.csv", GOOD)
    run(con, zone)
    before = stored(con)
    # Its first row would restate a stored value; its second is wrong: nothing may load.
    drop(
        zone,
        "fix.csv",
        HEADER + "2024-03-01,russell_2000,2024,99.0,oops\n2024-03-01,sp500,twenty,1,\n",
    )
    report, messages = run(con, zone)
    assert stored(con) == before
    reason = "fix.csv line 3: fiscal_year 'twenty' is not a four-digit year"
    assert report.quarantined == {"fix.csv": reason}
    assert report.loaded == []
    assert (zone / "quarantine" / "fix.csv").is_file()
    assert (zone / "quarantine" / "fix.csv.error.txt").read_text(encoding="utf-8") == reason + "\n"
    assert not (zone / "fix.csv").exists()
    assert any("fix.csv: REJECTED" in m and reason in m for m in messages)
    assert con.execute("select count(*) from raw.load_log").fetchone() == (1,)


REJECTIONS = {
    "missing_column": (
        "as_of_date,universe,eps_growth_pct\n2024-03-01,sp500,5\n",
        "drop.csv: missing column(s) ['fiscal_year']; header found: "
        "['as_of_date', 'universe', 'eps_growth_pct']",
    ),
    "unexpected_column": (
        "as_of_date,universe,fiscal_year,eps_growth_pct,comment\n2024-03-01,sp500,2024,5,hi\n",
        "drop.csv: unexpected column(s) ['comment']; the columns are as_of_date, universe, "
        "fiscal_year, eps_growth_pct and optionally source",
    ),
    "bad_date": (
        HEADER + "2024-03-01,sp500,2024,5,\n01/04/2024,sp500,2024,5,\n",
        "drop.csv line 3: as_of_date '01/04/2024' is not a date (expected YYYY-MM-DD)",
    ),
    "bad_year": (
        HEADER + "2024-03-01,sp500,2024.0,5,\n",
        "drop.csv line 2: fiscal_year '2024.0' is not a four-digit year",
    ),
    "bad_growth": (
        HEADER + "2024-03-01,sp500,2024,n/a%,\n",
        "drop.csv line 2: eps_growth_pct 'n/a%' is not a number",
    ),
    "empty_growth": (
        HEADER + "2024-03-01,sp500,2024,,\n",
        "drop.csv line 2: eps_growth_pct is empty",
    ),
    "bad_universe": (
        HEADER + "2024-03-01,S&P 500,2024,5,\n",
        "drop.csv line 2: universe 'S&P 500' is not a universe name (lower-case letters, "
        "digits and _, as in estimate_universes.csv)",
    ),
    "duplicate_key": (
        HEADER + "2024-03-01,sp500,2024,5,\n2024-03-02,sp500,2024,5,\n2024-03-01,sp500,2024,6,\n",
        "drop.csv line 4: universe=sp500, fiscal_year=2024, as_of_date=2024-03-01 repeats line 2",
    ),
    "truncated_row": (
        HEADER + "2024-03-01,sp500,2024,5,\n2024-03-02,sp5",
        "drop.csv line 3: 2 field(s) where the header has 5 (a truncated or malformed row)",
    ),
    "empty_file": ("", "drop.csv: the file is empty"),
    "header_only": (HEADER, "drop.csv: a header but no data rows"),
    "not_utf8": (
        HEADER.encode() + "2024-03-01,sp500,2024,5,Société\n".encode("latin-1"),
        "drop.csv line 2: not UTF-8 text (byte 0xe9 at offset 82)",
    ),
    "out_of_range": (
        HEADER + "2024-03-01,sp500,2024,5,\n2024-03-01,sp500,2025,5000,\n",
        "provider 'landing:drop.csv' returned an invalid estimates frame (1 problem(s)):\n"
        "  - row 1, line 3 (universe=sp500, fiscal_year=2025, as_of_date=2024-03-01): "
        "column 'eps_growth_pct' failed in_range(-100.0, 1000.0) (value 5000.0)",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_each_rejection_names_file_and_row(con, zone, case):
    body, reason = REJECTIONS[case]
    drop(zone, "drop.csv", body)
    report, _ = run(con, zone)
    assert report.quarantined == {"drop.csv": reason}
    assert (zone / "quarantine" / "drop.csv.error.txt").read_text(encoding="utf-8") == reason + "\n"
    assert not (zone / "drop.csv").exists()
    assert stored(con) == []


def test_a_file_over_ten_megabytes_is_refused_unread(con, zone):
    with (zone / "big.csv").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    report, _ = run(con, zone)
    assert report.quarantined == {"big.csv": "big.csv: 10485761 bytes is over the 10 MB limit"}
    assert (zone / "quarantine" / "big.csv").stat().st_size == MAX_FILE_BYTES + 1


def test_a_symbolic_link_is_refused_and_its_target_left_alone(con, zone, tmp_path):
    target = tmp_path / "elsewhere.csv"
    target.write_text(GOOD, encoding="utf-8")
    (zone / "link.csv").symlink_to(target)
    report, _ = run(con, zone)
    assert report.quarantined == {
        "link.csv": "link.csv: is a symbolic link; copy the file itself into the zone"
    }
    assert (zone / "quarantine" / "link.csv").is_symlink()
    assert target.read_text(encoding="utf-8") == GOOD
    assert stored(con) == []


def test_a_name_outside_the_allowed_characters_is_refused(con, zone):
    drop(zone, "march estimates.csv", GOOD)
    report, _ = run(con, zone)
    assert report.quarantined == {
        "march estimates.csv": "'march estimates.csv': the name may only hold letters, digits, "
        "'.', '_' and '-' before .csv"
    }
    assert (zone / "quarantine" / "march estimates.csv.error.txt").is_file()
    assert stored(con) == []


def test_a_second_bad_file_of_the_same_name_keeps_the_first_in_quarantine(con, zone):
    drop(zone, "drop.csv", "")
    run(con, zone)
    drop(zone, "drop.csv", HEADER)
    report, _ = run(con, zone)
    digest = hashlib.sha256(HEADER.encode()).hexdigest()[:16]
    assert {p.name for p in (zone / "quarantine").iterdir()} == {
        "drop.csv",
        "drop.csv.error.txt",
        f"drop.{digest}.csv",
        f"drop.{digest}.csv.error.txt",
    }
    assert (zone / "quarantine" / "drop.csv.error.txt").read_text(encoding="utf-8") == (
        "drop.csv: the file is empty\n"
    )
    assert (zone / "quarantine" / f"drop.{digest}.csv").read_text(encoding="utf-8") == HEADER
    assert report.quarantined == {"drop.csv": "drop.csv: a header but no data rows"}


def test_other_entries_are_left_alone(con, zone):
    drop(zone, "README.txt", "drop estimates here")
    drop(zone, "upload.csv.part", GOOD)
    drop(zone, "UPPER.CSV", GOOD)
    (zone / "folder.csv").mkdir()
    report, _ = run(con, zone)
    assert sorted(report.ignored) == ["README.txt", "UPPER.CSV", "folder.csv", "upload.csv.part"]
    assert report.loaded == []
    assert report.quarantined == {}
    assert sorted(p.name for p in zone.iterdir()) == [
        "README.txt",
        "UPPER.CSV",
        "folder.csv",
        "upload.csv.part",
    ]


def test_a_missing_zone_is_nothing_to_do(con, tmp_path):
    report, messages = run(con, tmp_path / "absent")
    assert report.loaded == []
    assert report.quarantined == {}
    assert messages == [f"landing: {tmp_path / 'absent'} does not exist, nothing to load"]


def test_a_failed_load_leaves_the_file_for_the_next_run(zone, tmp_path):
    connection = connect(tmp_path / "bare.duckdb")  # no raw schema: the load must fail
    connection.execute("create schema raw")
    connection.execute(
        "create table raw.load_log (load_id varchar, asset varchar, provider varchar, "
        "window_start date, window_end date, rows_received bigint, rows_inserted bigint, "
        "rows_updated bigint, rows_unchanged bigint, status varchar, error varchar, "
        "started_at timestamp, finished_at timestamp, scope varchar)"
    )
    drop(zone, "q1.csv", GOOD)
    report, _ = run(connection, zone)
    assert list(report.failed) == ["q1.csv"]
    assert "raw.earnings_estimates" in report.failed["q1.csv"]
    assert (zone / "q1.csv").read_text(encoding="utf-8") == GOOD
    assert not (zone / "archive").exists()
    connection.close()


def test_a_name_that_is_not_utf8_is_quarantined_and_logged_safely(con, zone):
    raw_name = os.fsencode(zone) + b"/caf\xe9.csv"
    with open(raw_name, "wb") as handle:
        handle.write(GOOD.encode())
    report, messages = run(con, zone)
    [(name, reason)] = report.quarantined.items()
    assert name == os.fsdecode(b"caf\xe9.csv")
    assert reason == (
        "'caf\\udce9.csv': the name may only hold letters, digits, '.', '_' and '-' before .csv"
    )
    assert os.path.exists(os.fsencode(zone) + b"/quarantine/caf\xe9.csv.error.txt")
    for message in messages:
        message.encode("utf-8")  # printable, whatever the file was called
    assert stored(con) == []


def test_a_named_pipe_is_refused_without_waiting_on_it(con, zone):
    os.mkfifo(zone / "pipe.csv")
    report, _ = run(con, zone)
    assert report.quarantined == {"pipe.csv": "pipe.csv: is not a regular file"}


def test_an_archive_that_is_a_link_is_not_followed(con, zone, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (zone / "archive").symlink_to(elsewhere)
    drop(zone, "q1.csv", GOOD)
    report, _ = run(con, zone)
    # The rows loaded (a later run finds them unchanged); the file stays in the zone.
    assert report.loaded[0].archived_as == zone / "q1.csv"
    assert (zone / "q1.csv").is_file()
    assert list(elsewhere.iterdir()) == []


def test_an_estimate_dated_after_today_in_new_york_is_quarantined_alone(con, zone):
    drop(zone, "good.csv", GOOD)
    run(con, zone)
    before = stored(con)
    # Its first row would restate a stored value; its second is from the future.
    drop(
        zone,
        "future.csv",
        HEADER + "2024-03-01,russell_2000,2024,99.0,oops\n2099-01-01,sp500,2099,8.0,\n",
    )
    drop(zone, "later.csv", HEADER + "2024-05-01,sp500,2024,8.5,analyst\n")
    report, messages = run(con, zone)
    [reason] = report.quarantined.values()
    assert list(report.quarantined) == ["future.csv"]
    assert re.fullmatch(
        r"future\.csv line 3: as_of_date 2099-01-01 is after today in New York "
        r"\(\d{4}-\d{2}-\d{2}\)",
        reason,
    )
    error_file = zone / "quarantine" / "future.csv.error.txt"
    assert error_file.read_text(encoding="utf-8") == reason + "\n"
    assert not (zone / "archive" / "future.csv").exists()
    # The other drop loaded; nothing the bad file held was stored.
    assert [f.name for f in report.loaded] == ["later.csv"]
    assert stored(con) == sorted([*before, ("sp500", 2024, date(2024, 5, 1), 8.5, "analyst")])
    assert any("future.csv: REJECTED" in m and reason in m for m in messages)
