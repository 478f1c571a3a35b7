"""The report rendered ahead of its step, in a thread of the process that will write it.

After the publication, a build run has two steps left that do not depend on each other:
the warehouse's compaction, which is DuckDB's native code and releases the GIL while it
copies, and the report, which is plotly's Python. An in-process run executes them one
after the other. The publication starts rendering the report from the serving file it has
just swapped in (`start`), the compaction runs meanwhile, and the report's step takes the
page (`take`) and writes it: the rendering is hidden behind the compaction.

A page is taken only for the very file it was rendered from (same path, inode, size and
modification time). Otherwise, when nothing was started, or when the rendering failed,
`take` says why and the step renders the page itself, so a failure is met, and reported,
in the report's own step. A page still being rendered when the process exits is waited
for: a thread left inside DuckDB's code while the interpreter finalizes can abort it.
"""

import atexit
import os
import threading
from concurrent.futures import Future
from pathlib import Path

from serving.report.build import Rendered, render_file

FileIdentity = tuple[int, int, int, int]


def _identity(path: Path) -> FileIdentity | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


class RenderedAhead:
    """At most one page being rendered ahead, for one serving file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: tuple[Path, FileIdentity | None, Future[Rendered]] | None = None
        atexit.register(self.drain)

    def start(self, serving_path: Path) -> None:
        """Render the page of `serving_path` in a thread; an earlier one not taken is
        dropped."""
        future: Future[Rendered] = Future()

        def work() -> None:
            try:
                future.set_result(render_file(serving_path))
            except BaseException as error:  # handed over to `take`
                future.set_exception(error)

        with self._lock:
            self._pending = (serving_path, _identity(serving_path), future)
        threading.Thread(target=work, name="report-ahead", daemon=True).start()

    def take(self, serving_path: Path) -> Rendered | str:
        """The page started for `serving_path`, once rendered, if that file is unchanged
        since; otherwise why there is none (the caller renders it)."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return NOTHING_STARTED
        path, identity, future = pending
        error = future.exception()  # waits for the thread, whatever is taken
        if path != serving_path:
            return f"it was rendered from {path}"
        if error is not None:
            return f"rendering it ahead failed: {error}"
        if identity is None or _identity(serving_path) != identity:
            return f"{serving_path} was replaced since"
        return future.result()

    def drain(self) -> None:
        """Wait for a page still being rendered."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            pending[2].exception()


NOTHING_STARTED = "nothing was rendered ahead"
REPORT_AHEAD = RenderedAhead()
