"""dbt's debug events in the warm dbt process (orchestration.dbt_events): dropped before
they are built when no logger or callback would take them, fired as dbt fires them
otherwise; what the loggers write is the same either way."""

import io
import json

import pytest
from dbt.adapters.events.types import SQLQuery
from dbt.tracking import track_behavior_change_warn
from dbt_common.events import event_manager
from dbt_common.events.base_types import EventLevel, EventMsg
from dbt_common.events.event_manager import EventManager
from dbt_common.events.logger import LineFormat, LoggerConfig
from dbt_common.events.types import Note

from orchestration.dbt_events import skip_unwritten_debug_events, writes_debug


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the events dbt builds into messages, with the wrapper installed for the
    test only."""
    monkeypatch.setattr(EventManager, "fire_event", EventManager.fire_event)
    names: list[str] = []
    build = event_manager.msg_from_base_event

    def counted(event, level=None):  # type: ignore[no-untyped-def]
        names.append(type(event).__name__)
        return build(event, level=level)

    monkeypatch.setattr(event_manager, "msg_from_base_event", counted)
    skip_unwritten_debug_events()
    return names


def _manager(level: EventLevel, name: str) -> tuple[EventManager, io.StringIO]:
    manager = EventManager()
    stream = io.StringIO()
    config = LoggerConfig(name=name, line_format=LineFormat.Json, level=level, output_stream=stream)
    manager.add_logger(config)
    return manager, stream


def _fire_both(manager: EventManager) -> None:
    manager.fire_event(SQLQuery(conn_name="model.tiny.probe", sql="select 1", node_info={}))
    manager.fire_event(Note(msg="1 of 1 OK created"))


def _written(stream: io.StringIO) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [(line["info"]["level"], line["info"]["msg"]) for line in lines]


def test_a_debug_event_no_logger_writes_is_not_built(built):
    manager, stream = _manager(EventLevel.INFO, "test-info")
    manager.callbacks.append(track_behavior_change_warn)  # as every dbt command has it
    assert not writes_debug(manager)
    _fire_both(manager)
    assert built == ["Note"]
    assert _written(stream) == [("info", "1 of 1 OK created")]


def test_a_logger_at_debug_gets_every_debug_event(built):
    manager, stream = _manager(EventLevel.DEBUG, "test-debug")
    assert writes_debug(manager)
    _fire_both(manager)
    assert built == ["SQLQuery", "Note"]
    assert _written(stream) == [
        ("debug", "On model.tiny.probe: select 1"),
        ("info", "1 of 1 OK created"),
    ]
    # one logger at debug among others at info is enough
    quiet, _ = _manager(EventLevel.INFO, "test-info-2")
    quiet.loggers.extend(manager.loggers)
    assert writes_debug(quiet)


def test_a_callback_of_its_own_gets_every_debug_event(built):
    manager, stream = _manager(EventLevel.INFO, "test-callback")
    heard: list[str] = []

    def listener(message: EventMsg) -> None:
        heard.append(message.info.name)

    manager.callbacks.extend([track_behavior_change_warn, listener])
    _fire_both(manager)
    assert heard == ["SQLQuery", "Note"]
    assert _written(stream) == [("info", "1 of 1 OK created")]


def test_an_event_fired_at_debug_level_is_skipped_and_installing_twice_wraps_once(built):
    manager, stream = _manager(EventLevel.INFO, "test-level")
    manager.fire_event(Note(msg="demoted"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="kept"))
    assert built == ["Note"]
    assert _written(stream) == [("info", "kept")]
    installed = EventManager.fire_event
    skip_unwritten_debug_events()
    assert EventManager.fire_event is installed
