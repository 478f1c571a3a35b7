"""dbt's debug events left unbuilt when nothing would write them (in the warm dbt process).

dbt builds every event it fires into a protobuf message, and each of its loggers turns
that message into a line (JSON for dagster-dbt on stdout, dbt.log's format for the file)
before Python's logging drops the line for being below the logger's level. A `dbt build`
fires a debug event or more for each statement it runs, each connection it opens and each
relation it caches; with the console and the file both at info (dagster-dbt and
orchestration.dbt_environment), all of them are built and formatted only to be dropped.
That is 0.5-0.7 s of the default universe's nightly `dbt build` (bench/hotspots.md).

`skip_unwritten_debug_events` wraps dbt_common's `EventManager.fire_event`: an event at
debug level is dropped before it is built when no logger would write it and the only
callback is dbt's own tracking of behaviour changes, which reads warnings alone. Events
at any other level, and debug events whenever a logger is at debug (`--debug`,
`--log-level debug`, `DBT_LOG_LEVEL_FILE=debug`) or another callback listens, go through
dbt as before: what dbt writes does not change.
"""

import logging
from typing import Any

from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager

# dbt's own callback, registered at every command: it reads BehaviorChangeEvent, a warning.
WARNINGS_ONLY_CALLBACKS = frozenset({"track_behavior_change_warn"})


def writes_debug(manager: EventManager) -> bool:
    """Whether a debug event fired on `manager` would reach a line or a callback."""
    for logger in manager.loggers:
        python_logger = logger._python_logger
        if python_logger is not None and python_logger.isEnabledFor(logging.DEBUG):
            return True
    return any(
        getattr(callback, "__name__", None) not in WARNINGS_ONLY_CALLBACKS
        for callback in manager.callbacks
    )


def skip_unwritten_debug_events() -> None:
    """Install the wrapper in this process (once; later calls change nothing)."""
    fire_event = EventManager.fire_event
    if getattr(fire_event, "skips_unwritten_debug_events", False):
        return

    def fire_written_event(
        self: EventManager,
        e: BaseEvent,
        level: EventLevel | None = None,
        node: Any = None,
        force_warn_or_error_handling: bool = False,
    ) -> None:
        debug = (level or e.level_tag()) == EventLevel.DEBUG
        if debug and not force_warn_or_error_handling and not writes_debug(self):
            return
        fire_event(self, e, level, node, force_warn_or_error_handling)

    fire_written_event.skips_unwritten_debug_events = True  # type: ignore[attr-defined]
    EventManager.fire_event = fire_written_event  # type: ignore[method-assign]
