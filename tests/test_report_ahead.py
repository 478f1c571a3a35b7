"""The report rendered ahead in a thread (serving.report.ahead): taken only for the file it
was rendered from, once; given up, with the reason, for the step to render when anything
else happened."""

import os
import shutil
from pathlib import Path

import pytest

from serving.report.ahead import NOTHING_STARTED, RenderedAhead
from serving.report.build import Rendered, render_file
from tests.conftest import E2E_END, copy_of_built

pytestmark = pytest.mark.slow


@pytest.fixture
def serving_file(built, tmp_path) -> Path:
    path, _result, _instance = built
    copy = tmp_path / "serving.duckdb"
    shutil.copy(path.parent / "serving" / "serving.duckdb", copy)
    return copy


def test_the_page_is_the_one_the_step_would_render_and_is_taken_once(serving_file):
    ahead = RenderedAhead()
    ahead.start(serving_file)
    rendered = ahead.take(serving_file)
    assert isinstance(rendered, Rendered)
    direct = render_file(serving_file)
    assert rendered.page == direct.page
    assert rendered.data_through == E2E_END
    assert rendered.charts == direct.charts
    assert rendered.summary_markdown == direct.summary_markdown
    assert ahead.take(serving_file) == NOTHING_STARTED


def test_nothing_is_taken_without_a_start_or_for_another_file(serving_file, tmp_path):
    ahead = RenderedAhead()
    assert ahead.take(serving_file) == NOTHING_STARTED
    other = tmp_path / "other.duckdb"
    shutil.copy(serving_file, other)
    ahead.start(other)
    assert ahead.take(serving_file) == f"it was rendered from {other}"
    # the start for `other` was given up by that take
    assert ahead.take(other) == NOTHING_STARTED


def test_a_file_swapped_after_the_start_is_rendered_again_by_the_step(serving_file, tmp_path):
    ahead = RenderedAhead()
    ahead.start(serving_file)
    newer = tmp_path / "newer.duckdb"
    shutil.copy(serving_file, newer)
    os.replace(newer, serving_file)  # as a publication swaps its file in
    assert ahead.take(serving_file) == f"{serving_file} was replaced since"


def test_a_failed_rendering_is_left_for_the_step_to_meet(tmp_path):
    missing = tmp_path / "serving.duckdb"
    ahead = RenderedAhead()
    ahead.start(missing)
    why = ahead.take(missing)
    assert isinstance(why, str)
    assert why.startswith(f"rendering it ahead failed: no serving database at {missing}")
    with pytest.raises(FileNotFoundError, match="no serving database"):
        render_file(missing)


def test_a_later_start_replaces_an_earlier_one(serving_file, tmp_path):
    ahead = RenderedAhead()
    first = tmp_path / "first.duckdb"
    shutil.copy(serving_file, first)
    ahead.start(first)
    ahead.start(serving_file)
    assert ahead.take(first) == f"it was rendered from {serving_file}"
    ahead.start(first)
    ahead.start(serving_file)
    rendered = ahead.take(serving_file)
    assert isinstance(rendered, Rendered)
    assert rendered.data_through == E2E_END


def test_drain_waits_for_a_page_not_taken(serving_file):
    ahead = RenderedAhead()
    ahead.start(serving_file)
    ahead.drain()  # what the process's exit runs
    pending = ahead._pending  # the page is still there to take, and rendered
    assert pending is not None
    assert pending[2].done()
    assert isinstance(ahead.take(serving_file), Rendered)


def test_a_run_that_does_not_materialize_the_report_renders_nothing_ahead(built, tmp_path):
    from dagster import DagsterInstance, materialize

    from orchestration.defs.serving.assets import published_marts
    from orchestration.shared import build_resources
    from serving.report.ahead import REPORT_AHEAD

    warehouse = copy_of_built(built, tmp_path)
    result = materialize(
        [published_marts],
        resources=build_resources(str(warehouse)),
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    assert REPORT_AHEAD.take(tmp_path / "serving" / "serving.duckdb") == NOTHING_STARTED
