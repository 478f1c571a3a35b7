"""The `warehouse` CLI against a small serving file built here: output formats, refusals, errors."""

import csv
import hashlib
import io
import json
from pathlib import Path

import duckdb
import pytest

from ingestion.paths import PROJECT_ROOT
from serving import cli

STREAK_COMMENT = "Current up/down streak per ticker. Grain: one row per ticker."
DIVERGENCE_COMMENT = "Daily divergence between equity momentum and rates."
LEADERSHIP_COMMENT = (
    "Breadth of sector leadership, one row per week_ending that has at least one row in "
    "sector_rotation_weekly: how many sectors sit in each quadrant. Grain: one row per week."
)


def _build_serving(path: Path) -> None:
    # Built through an alias as publish.py does: a file named marts.duckdb opened directly
    # gets catalog `marts`, making every `marts.x` ambiguous (the CLI must cope with that).
    con = duckdb.connect()
    con.execute(f"attach '{path}' as build")
    con.execute("use build")
    con.execute("""
        create schema marts;
        create schema universe;
        create schema meta;
        create table marts.streak_status (ticker varchar, streak_days integer, as_of date);
        insert into marts.streak_status values
            ('AAPL', 3, '2024-03-28'), ('MSFT', -2, '2024-03-28');
        create table marts.divergence_daily (
            session_date date, ticker varchar, divergence double, note varchar
        );
        insert into marts.divergence_daily values
            ('2024-03-27', 'AAPL', 0.25, null),
            ('2024-03-28', 'AAPL', -1.5, 'big, "odd" move'),
            ('2024-03-28', 'MSFT', 0.0, 'flat');
        create table marts.sector_leadership_weekly (week_ending date, leading_count integer);
        insert into marts.sector_leadership_weekly values ('2024-03-15', 3), ('2024-03-22', 4);
        create table universe.tickers (ticker varchar, name varchar);
        insert into universe.tickers values ('AAPL', 'Apple'), ('MSFT', 'Microsoft');
        create table meta.publication as select
            timestamp '2024-03-29 06:30:00' as published_at,
            date '2024-03-28' as data_through,
            'run-42' as run_id;
    """)
    con.execute(f"comment on table marts.streak_status is '{STREAK_COMMENT}'")
    con.execute(f"comment on table marts.divergence_daily is '{DIVERGENCE_COMMENT}'")
    con.execute(f"comment on table marts.sector_leadership_weekly is '{LEADERSHIP_COMMENT}'")
    con.execute("comment on column marts.streak_status.ticker is 'Ticker symbol.'")
    con.execute("comment on column marts.streak_status.streak_days is 'Signed streak length.'")
    con.execute("comment on column marts.streak_status.as_of is 'Last session counted.'")
    con.execute("comment on column marts.divergence_daily.session_date is 'Trading day.'")
    con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serving") / "marts.duckdb"
    _build_serving(path)
    return path


def run(capsys: pytest.CaptureFixture[str], serving: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--serving", str(serving), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_cells(out: str) -> list[list[str]]:
    """Rows of a rich table (header first) as lists of stripped cell texts."""
    return [
        [cell.strip() for cell in line.strip().strip("│┃").split(line[0])]
        for line in out.splitlines()
        if line[:1] in ("│", "┃")
    ]


# --- query ----------------------------------------------------------------------------------

QUERY = "select ticker, streak_days, as_of from marts.streak_status order by ticker"


def test_query_table(capsys, serving):
    code, out, err = run(capsys, serving, "query", QUERY)
    assert (code, err) == (0, "")
    assert table_cells(out) == [
        ["ticker", "streak_days", "as_of"],
        ["AAPL", "3", "2024-03-28"],
        ["MSFT", "-2", "2024-03-28"],
    ]


def test_query_table_does_not_interpret_markup(capsys, serving):
    code, out, _ = run(capsys, serving, "query", "select '[bold]x[/bold]' as \"[red]c\"")
    assert code == 0
    assert table_cells(out) == [["[red]c"], ["[bold]x[/bold]"]]


def test_query_table_shows_null(capsys, serving):
    code, out, _ = run(
        capsys, serving, "query", "select note from marts.divergence_daily order by session_date"
    )
    assert code == 0
    assert table_cells(out)[1] == ["NULL"]


def test_query_csv(capsys, serving):
    sql = "select session_date, ticker, divergence, note from marts.divergence_daily order by 1, 2"
    code, out, err = run(capsys, serving, "query", sql, "--format", "csv")
    assert (code, err) == (0, "")
    assert out == (
        "session_date,ticker,divergence,note\n"
        "2024-03-27,AAPL,0.25,\n"
        '2024-03-28,AAPL,-1.5,"big, ""odd"" move"\n'
        "2024-03-28,MSFT,0.0,flat\n"
    )
    assert list(csv.reader(io.StringIO(out)))[2][3] == 'big, "odd" move'


def test_query_json(capsys, serving):
    sql = "select * from marts.divergence_daily order by session_date, ticker"
    code, out, err = run(capsys, serving, "query", sql, "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {"session_date": "2024-03-27", "ticker": "AAPL", "divergence": 0.25, "note": None},
        {
            "session_date": "2024-03-28",
            "ticker": "AAPL",
            "divergence": -1.5,
            "note": 'big, "odd" move',
        },
        {"session_date": "2024-03-28", "ticker": "MSFT", "divergence": 0.0, "note": "flat"},
    ]


def test_query_json_timestamps_decimals_and_empty_results(capsys, serving):
    sql = "select published_at, 1.50::decimal(5, 2) as d, run_id from meta.publication"
    code, out, _ = run(capsys, serving, "query", sql, "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {"published_at": "2024-03-29T06:30:00", "d": 1.5, "run_id": "run-42"}
    ]
    code, out, _ = run(capsys, serving, "query", "select 1 as x where false", "--format", "json")
    assert (code, json.loads(out)) == (0, [])


def test_query_reads_universe_and_describe_statements(capsys, serving):
    code, out, _ = run(
        capsys, serving, "query", "select count(*) as n from universe.tickers", "--format", "csv"
    )
    assert (code, out) == (0, "n\n2\n")
    code, out, _ = run(capsys, serving, "query", "describe marts.streak_status", "--format", "csv")
    assert code == 0
    assert out.splitlines()[1].startswith("ticker,VARCHAR")


WRITES = [
    "insert into marts.streak_status values ('NVDA', 1, '2024-03-28')",
    "update marts.streak_status set streak_days = 0",
    "delete from marts.streak_status",
    "create table marts.evil (x integer)",
    "create temp table scratch as select 1 as x",
    "create view marts.v as select 1 as x",
    "drop table marts.streak_status",
    "alter table marts.streak_status add column y integer",
    "copy marts.streak_status to '{tmp}/out.csv'",
    "copy (select 1) to '{tmp}/out.parquet' (format parquet)",
    "export database '{tmp}/export'",
    "attach '{tmp}/other.duckdb' as other",
    "attach ':memory:' as scratch",
    "detach memory",
    "install httpfs",
    "load httpfs",
    "set threads = 1",
    "set enable_external_access = true",
    "checkpoint",
    "begin transaction",
    "explain analyze insert into marts.streak_status values ('NVDA', 1, '2024-03-28')",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_refused(capsys, serving, tmp_path, sql):
    before = _digest(serving)
    code, out, err = run(capsys, serving, "query", sql.format(tmp=tmp_path))
    assert code == 2
    assert out == ""
    assert err.startswith(cli.READ_ONLY_MESSAGE)
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    assert _digest(serving) == before


def test_duckdb_itself_refuses_writes_and_the_refusal_is_mapped(serving):
    # The guarantee is read_only=True, not the statement check in front of it.
    con = cli.connect(serving)
    try:
        with pytest.raises(duckdb.Error) as caught:
            con.execute("insert into marts.streak_status values ('X', 0, null)")
        assert "read-only" in str(caught.value)
        assert str(cli._query_error(caught.value)) == cli.READ_ONLY_MESSAGE
        with pytest.raises(duckdb.Error) as caught:
            con.execute("set threads = 1")
        assert str(cli._query_error(caught.value)) == cli.READ_ONLY_MESSAGE
    finally:
        con.close()


def test_external_access_is_refused(capsys, serving, tmp_path):
    readable = tmp_path / "plain.csv"
    readable.write_text("a,b\n1,2\n")
    for sql in (
        "select * from read_csv('/etc/passwd')",
        f"select * from read_csv('{readable}')",
        f"select * from '{readable}'",
        "select * from glob('/etc/*')",
    ):
        code, out, err = run(capsys, serving, "query", sql)
        assert (code, out) == (2, "")
        assert err.startswith("error: external access is disabled for queries: Permission Error")
        assert err.count("\n") == 1


def test_bad_sql(capsys, serving):
    code, out, err = run(capsys, serving, "query", "selec 1")
    assert (code, out) == (2, "")
    assert err == 'error: Parser Error: syntax error at or near "selec"\n'


def test_unknown_table_in_query(capsys, serving):
    code, out, err = run(capsys, serving, "query", "select * from marts.nope")
    assert (code, out) == (2, "")
    assert err.startswith("error: Catalog Error: Table with name nope does not exist!")
    assert err.count("\n") == 1


def test_query_needs_exactly_one_statement(capsys, serving):
    code, _, err = run(capsys, serving, "query", "select 1; select 2")
    assert (code, err) == (2, "error: expected one SQL statement, got 2\n")
    code, _, err = run(capsys, serving, "query", "  ")
    assert (code, err) == (2, "error: no SQL statement given\n")
    code, out, _ = run(capsys, serving, "query", "select 1 as x;", "--format", "csv")
    assert (code, out) == (0, "x\n1\n")


# --- marts ----------------------------------------------------------------------------------


def test_marts_table(capsys, serving):
    code, out, err = run(capsys, serving, "marts")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "marts: published 2024-03-29 06:30 UTC, sessions through 2024-03-28"
    # Piped: laid out for 100 columns, one line per mart, each mart's own latest date.
    assert max(len(line) for line in lines) == 100
    # 100 - name 24 - rows 4 - date 10 - 13 for rules and padding: 49 for the description.
    assert table_cells(out) == [
        ["name", "rows", "latest", "description"],
        ["divergence_daily", "3", "2024-03-28", DIVERGENCE_COMMENT[:48] + "…"],
        ["sector_leadership_weekly", "2", "2024-03-22", LEADERSHIP_COMMENT[:48] + "…"],
        ["streak_status", "2", "2024-03-28", STREAK_COMMENT[:48] + "…"],
    ]
    assert "warehouse describe <name>" in lines[-1]


@pytest.mark.parametrize("width", [120, 80, 60])
def test_marts_fit_the_terminal_and_never_break_a_name(serving, width):
    con = cli.connect(serving)
    _columns, rows = cli.list_marts(con)
    con.close()
    out = cli.render_marts(rows, width)
    table = [line for line in out.splitlines() if line[:1] in ("│", "┃", "┏", "└")]
    cells = table_cells(out)
    assert [row[0] for row in cells[1:]] == [
        "divergence_daily",
        "sector_leadership_weekly",
        "streak_status",
    ]
    assert all(len(line) <= width for line in out.splitlines())
    if width >= 64:
        assert {len(line) for line in table} == {width}
        assert cells[2][3] == LEADERSHIP_COMMENT[: width - 52] + "…"
    else:  # too narrow for a useful description: name, rows and date only
        assert cells[0] == ["name", "rows", "latest"]


def test_marts_csv(capsys, serving):
    code, out, _ = run(capsys, serving, "marts", "--format", "csv")
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["name", "description", "grain", "rows", "latest_date", "data_through", "published_at"],
        ["divergence_daily", DIVERGENCE_COMMENT, "", "3", "2024-03-28", "2024-03-28",
         "2024-03-29T06:30:00"],
        ["sector_leadership_weekly", LEADERSHIP_COMMENT, "one row per week", "2", "2024-03-22",
         "2024-03-28", "2024-03-29T06:30:00"],
        ["streak_status", STREAK_COMMENT, "one row per ticker", "2", "2024-03-28", "2024-03-28",
         "2024-03-29T06:30:00"],
    ]  # fmt: skip


def test_marts_json(capsys, serving):
    code, out, _ = run(capsys, serving, "marts", "--format", "json")
    assert code == 0
    freshness = {"data_through": "2024-03-28", "published_at": "2024-03-29T06:30:00"}
    assert json.loads(out) == [
        {
            "name": "divergence_daily",
            "description": DIVERGENCE_COMMENT,
            "grain": "",
            "rows": 3,
            "latest_date": "2024-03-28",
        }
        | freshness,
        {
            "name": "sector_leadership_weekly",
            "description": LEADERSHIP_COMMENT,
            "grain": "one row per week",
            "rows": 2,
            "latest_date": "2024-03-22",
        }
        | freshness,
        {
            "name": "streak_status",
            "description": STREAK_COMMENT,
            "grain": "one row per ticker",
            "rows": 2,
            "latest_date": "2024-03-28",
        }
        | freshness,
    ]


@pytest.mark.parametrize(
    ("comment", "grain"),
    [
        (None, ""),
        ("No grain stated.", ""),
        ("Daily rates. Grain: one row per date.", "one row per date"),
        ("grain: ticker x session_date", "ticker x session_date"),
        ("Rates.\nGrain: one row per 1.5 days\nMore.", "one row per 1.5 days"),
    ],
)
def test_grain_of(comment, grain):
    assert cli.grain_of(comment) == grain


def test_marts_without_publication_table(capsys, tmp_path):
    path = tmp_path / "bare.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create table marts.t as select 1 as x")
    con.close()
    code, out, _ = run(capsys, path, "marts", "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {
            "name": "t",
            "description": "",
            "grain": "",
            "rows": 1,
            "latest_date": None,
            "data_through": None,
            "published_at": None,
        }
    ]


# --- describe -------------------------------------------------------------------------------


def test_describe_table(capsys, serving):
    code, out, err = run(capsys, serving, "describe", "streak_status")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"marts.streak_status: {STREAK_COMMENT}"
    assert table_cells(out) == [
        ["column", "type", "description"],
        ["ticker", "VARCHAR", "Ticker symbol."],
        ["streak_days", "INTEGER", "Signed streak length."],
        ["as_of", "DATE", "Last session counted."],
    ]


def test_describe_csv_and_json(capsys, serving):
    code, out, _ = run(capsys, serving, "describe", "divergence_daily", "--format", "csv")
    assert code == 0
    assert out == (
        "column,type,description\n"
        "session_date,DATE,Trading day.\n"
        "ticker,VARCHAR,\n"
        "divergence,DOUBLE,\n"
        "note,VARCHAR,\n"
    )
    code, out, _ = run(capsys, serving, "describe", "marts.STREAK_STATUS", "--format", "json")
    assert code == 0
    assert json.loads(out)[1] == {
        "column": "streak_days",
        "type": "INTEGER",
        "description": "Signed streak length.",
    }


@pytest.mark.parametrize(
    "mart",
    ["nope", "tickers", "universe.tickers", 'streak_status"; drop table x; --', "publication"],
)
def test_describe_unknown_mart(capsys, serving, mart):
    code, out, err = run(capsys, serving, "describe", mart)
    assert (code, out) == (2, "")
    known = "divergence_daily, sector_leadership_weekly, streak_status"
    assert err == f"error: unknown mart {mart!r}; known marts: {known}\n"


# --- paths and usage ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["query", "select 1"], ["marts"], ["describe", "streak_status"]])
def test_missing_serving_file(capsys, tmp_path, args):
    missing = tmp_path / "nowhere" / "marts.duckdb"
    code, out, err = run(capsys, missing, *args)
    assert (code, out) == (2, "")
    assert err == f"error: no serving warehouse at {missing}; run `make run` first\n"
    assert not missing.parent.exists()


def test_serving_path_resolution(monkeypatch, serving, capsys):
    monkeypatch.delenv("SERVING_PATH", raising=False)
    monkeypatch.delenv("SERVING_DIR", raising=False)
    monkeypatch.delenv("WAREHOUSE_PATH", raising=False)
    assert cli.serving_path() == PROJECT_ROOT / "data" / "serving" / "serving.duckdb"
    monkeypatch.setenv("SERVING_PATH", "some/where.duckdb")
    assert cli.serving_path() == PROJECT_ROOT / "some" / "where.duckdb"
    assert cli.serving_path(str(serving)) == serving
    monkeypatch.setenv("SERVING_PATH", str(serving))
    assert cli.main(["query", "select 7 as n", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n7\n"


def test_not_a_duckdb_file(capsys, tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    code, out, err = run(capsys, junk, "marts")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: cannot open serving warehouse at {junk}: ")
    assert err.count("\n") == 1


def test_usage_errors_return_codes(capsys):
    assert cli.main([]) == 2
    assert cli.main(["query", "select 1", "--format", "xml"]) == 2
    assert cli.main(["--help"]) == 0
    assert "warehouse" in capsys.readouterr().out


# --- the file is never changed --------------------------------------------------------------


def test_serving_file_unchanged_after_everything(capsys, tmp_path):
    path = tmp_path / "marts.duckdb"
    _build_serving(path)
    before = _digest(path)
    files_before = sorted(p.name for p in tmp_path.iterdir())
    for sql in WRITES:
        assert cli.main(["--serving", str(path), "query", sql.format(tmp=tmp_path)]) == 2
    for args in (
        ["query", QUERY],
        ["query", QUERY, "--format", "csv"],
        ["query", QUERY, "--format", "json"],
        ["query", "select * from read_csv('/etc/passwd')"],
        ["query", "selec 1"],
        ["marts"],
        ["marts", "--format", "json"],
        ["describe", "streak_status"],
        ["describe", "nope"],
    ):
        cli.main(["--serving", str(path), *args])
    capsys.readouterr()
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before
