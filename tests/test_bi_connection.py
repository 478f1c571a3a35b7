"""BI tools connect through duckdb-engine: the README's SQLAlchemy URL opens the serving
file read-only, sees the marts with their comments, and cannot change a byte of it."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

# The script runs in its own process, as a BI tool would: DuckDB refuses a second
# connection to one file with a different configuration inside a single process.
CLIENT = """
import json, sys
import sqlalchemy as sa

engine = sa.create_engine(sys.argv[1])
out = {}
with engine.connect() as con:
    out["rows"] = con.execute(sa.text("select count(*) from marts.divergence_daily")).scalar()
    out["through"] = str(con.execute(sa.text("select data_through from meta.publication")).scalar())
    inspector = sa.inspect(con)
    out["marts"] = sorted(inspector.get_table_names(schema="marts"))
    out["columns"] = [c["name"] for c in inspector.get_columns("streak_status", schema="marts")]
    out["comment"] = con.execute(sa.text(
        "select comment from duckdb_tables() where table_name = 'streak_status'"
    )).scalar()
    try:
        con.execute(sa.text("delete from marts.streak_status"))
        out["write"] = "accepted"
    except sa.exc.DBAPIError as error:
        out["write"] = str(error.orig)
print(json.dumps(out))
"""


def readme_url() -> str:
    """The URL template exactly as the README gives it."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in readme.splitlines() if line.strip().startswith("duckdb:///")]
    return line.strip()


def test_the_readme_sqlalchemy_url_reads_the_serving_file_read_only(built):
    path, _result, _instance = built
    serving = path.parent / "serving" / "serving.duckdb"
    template = readme_url()
    assert template.endswith("?access_mode=read_only")
    url = template.replace("/absolute/path/to/data/serving/serving.duckdb", str(serving))
    assert str(serving) in url
    before = hashlib.sha256(serving.read_bytes()).hexdigest()
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, url], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    with duckdb.connect(str(serving), read_only=True) as con:
        (rows,) = con.execute("select count(*) from marts.divergence_daily").fetchone()
        marts = [r[0] for r in con.execute("show tables from marts").fetchall()]
    assert seen["rows"] == rows > 0
    assert seen["through"] == "2024-04-05"
    assert seen["marts"] == sorted(marts)
    assert len(marts) == 13
    assert seen["columns"][:3] == ["pair_id", "frequency", "as_of"]
    assert seen["comment"].startswith("Where each pair stands now")
    assert "read-only" in seen["write"]
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before
