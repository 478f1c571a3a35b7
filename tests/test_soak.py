"""Two nightly refreshes in a row through the real job refresh_all_job (`make soak` runs 60):
the warehouse file stays within 1.25x of a fresh build of the same data, a reader of the
serving file never fails, and every mart ends equal to a fresh build's."""

import json
import subprocess
import sys

import pytest

from ingestion.paths import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.long]

# Enough for a publication per nightly under a reader, the second on the file the first
# grew; `make soak` is the long measurement.
NIGHTLIES = 2


def test_nightlies_in_a_row_keep_the_file_small_and_the_marts_exact(tmp_path):
    out = tmp_path / "out"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--nightlies",
            str(NIGHTLIES),
            "--history-start",
            "2023-10-02",
            "--end",
            "2024-04-05",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    nightlies = result["nightlies"]
    assert [n["session"] for n in nightlies][-2:] == ["2024-04-04", "2024-04-05"]
    assert len(nightlies) == NIGHTLIES
    assert all(n["succeeded"] for n in nightlies)
    # after every nightly, not only the last
    assert max(n["file_bytes"] for n in nightlies) <= 1.25 * result["fresh_bytes"]
    assert result["final_ratio"] <= 1.25
    assert result["reader_errors"] == []
    assert result["reader_queries"] > NIGHTLIES / 2  # it read throughout (0.1 s apart)
    # the reader saw the publications change in order, one per nightly at most
    seen = [detail.split()[1] for detail in result["publications_seen"]]
    assert seen == sorted(seen)
    assert seen[-1] == "2024-04-05"
    assert result["marts_equal"], result["mart_difference"]
    assert "PASSED" in (out / "results.md").read_text()
