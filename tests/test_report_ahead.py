"""The report rendered ahead in a thread (serving.report.ahead): taken only for the file it
was rendered from, once; given up for the step to render when anything else happened."""

import os
import shutil
from pathlib import Path

import pytest

from serving.report.ahead import RenderedAhead
from serving.report.build import render_file
from tests.conftest import E2E_END

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
    assert rendered is not None
    direct = render_file(serving_file)
    assert rendered.page == direct.page
    assert rendered.data_through == E2E_END
    assert rendered.charts == direct.charts
    assert rendered.summary_markdown == direct.summary_markdown
    assert ahead.take(serving_file) is None


def test_nothing_is_taken_without_a_start_or_for_another_file(serving_file, tmp_path):
    ahead = RenderedAhead()
    assert ahead.take(serving_file) is None
    other = tmp_path / "other.duckdb"
    shutil.copy(serving_file, other)
    ahead.start(other)
    assert ahead.take(serving_file) is None
    # the start for `other` was given up by that take
    assert ahead.take(other) is None


def test_a_file_swapped_after_the_start_is_rendered_again_by_the_step(serving_file, tmp_path):
    ahead = RenderedAhead()
    ahead.start(serving_file)
    newer = tmp_path / "newer.duckdb"
    shutil.copy(serving_file, newer)
    os.replace(newer, serving_file)  # as a publication swaps its file in
    assert ahead.take(serving_file) is None


def test_a_failed_rendering_is_left_for_the_step_to_meet(tmp_path):
    missing = tmp_path / "serving.duckdb"
    ahead = RenderedAhead()
    ahead.start(missing)
    assert ahead.take(missing) is None
    with pytest.raises(FileNotFoundError, match="no serving database"):
        render_file(missing)


def test_a_later_start_replaces_an_earlier_one(serving_file, tmp_path):
    ahead = RenderedAhead()
    first = tmp_path / "first.duckdb"
    shutil.copy(serving_file, first)
    ahead.start(first)
    ahead.start(serving_file)
    assert ahead.take(first) is None
    ahead.start(first)
    ahead.start(serving_file)
    rendered = ahead.take(serving_file)
    assert rendered is not None
    assert rendered.data_through == E2E_END
