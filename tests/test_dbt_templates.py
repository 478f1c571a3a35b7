"""Jinja templates kept between the warm process's dbt commands (orchestration.dbt_templates):
the same source in the same kind of environment reuses the kept code, anything else is
compiled, and what is rendered is what Jinja renders."""

from pathlib import Path

import jinja2
import pytest
from dbt_common.clients.jinja import MacroFuzzEnvironment

from orchestration.dbt_templates import CompiledTemplates, cache_file, templates_folder

SOURCE = "{% for leg in legs %}{{ leg | upper }}{% if not loop.last %}/{% endif %}{% endfor %}"


@pytest.fixture(autouse=True)
def jinja_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jinja2.Environment, "compile", jinja2.Environment.compile)
    monkeypatch.delenv("DBT_MACRO_DEBUGGING", raising=False)


def _render(environment: jinja2.Environment, source: str = SOURCE) -> str:
    return str(environment.from_string(source).render({"legs": ["iwm", "qqq"]}))


def _kept_once(path: Path) -> CompiledTemplates:
    """A command that compiled SOURCE in dbt's environment and saved it."""
    first = CompiledTemplates(path).load()
    first.install()
    assert _render(MacroFuzzEnvironment()) == "IWM/QQQ"
    assert first.compiled == 1
    assert first.save()
    return first


def test_a_source_compiled_by_an_earlier_command_is_not_compiled_again(tmp_path):
    path = cache_file(tmp_path)
    first = _kept_once(path)
    later = CompiledTemplates(path).load()
    assert set(later.kept) == set(first.used)
    later.install()
    assert _render(MacroFuzzEnvironment()) == "IWM/QQQ"
    assert _render(MacroFuzzEnvironment()) == "IWM/QQQ"
    assert later.compiled == 0
    assert not later.save()  # nothing new: the file stays as it was
    assert set(CompiledTemplates(path).load().kept) == set(first.used)


def test_another_source_or_environment_is_compiled(tmp_path):
    path = cache_file(tmp_path)
    _kept_once(path)
    later = CompiledTemplates(path).load()
    later.install()
    # another source
    assert _render(MacroFuzzEnvironment(), SOURCE.replace("/", "-")) == "IWM-QQQ"
    # the same source in another kind of environment, and with other delimiters
    assert _render(jinja2.Environment()) == "IWM/QQQ"
    other = MacroFuzzEnvironment(block_start_string="<%", block_end_string="%>")
    assert _render(other) == SOURCE.replace("{{ leg | upper }}", "")
    # a filter of the same name is looked up when the template runs ...
    replaced = MacroFuzzEnvironment()
    replaced.filters["upper"] = lambda value: f"<{value}>"
    assert _render(replaced) == "<iwm>/<qqq>"
    assert later.compiled == 3
    # ... but one that takes the context is called otherwise: compiled anew
    with_context = MacroFuzzEnvironment()
    with_context.filters["upper"] = jinja2.pass_context(lambda context, value: f"{value}!")
    assert _render(with_context) == "iwm!/qqq!"
    assert later.compiled == 4
    assert later.save()
    assert len(CompiledTemplates(path).load().kept) == 5


def test_a_template_that_fails_to_compile_is_not_kept_and_fails_as_before(tmp_path):
    templates = CompiledTemplates(cache_file(tmp_path)).load()
    templates.install()
    for _ in range(2):
        with pytest.raises(jinja2.TemplateSyntaxError, match="endfor"):
            MacroFuzzEnvironment().from_string("{% for x in y %}{{ x }}")
    assert templates.compiled == 0
    assert templates.used == {}
    assert not templates.save()


def test_macro_debugging_compiles_everything(tmp_path, monkeypatch):
    path = cache_file(tmp_path)
    _kept_once(path)
    monkeypatch.setenv("DBT_MACRO_DEBUGGING", "1")
    later = CompiledTemplates(path).load()
    later.install()
    assert _render(MacroFuzzEnvironment()) == "IWM/QQQ"
    assert later.used == {}


def test_a_missing_or_unreadable_file_keeps_nothing_and_a_large_one_keeps_the_used(
    tmp_path, monkeypatch
):
    assert CompiledTemplates(tmp_path / "none.marshal").load().kept == {}
    broken = tmp_path / "broken.marshal"
    broken.write_bytes(b"\x00not marshal")
    assert CompiledTemplates(broken).load().kept == {}

    path = cache_file(tmp_path)
    _kept_once(path)
    monkeypatch.setattr("orchestration.dbt_templates.MAX_KEPT", 1)
    later = CompiledTemplates(path).load()
    later.install()
    assert _render(MacroFuzzEnvironment(), "{{ legs | length }}") == "2"
    assert later.save()
    assert set(CompiledTemplates(path).load().kept) == set(later.used)
    assert len(later.used) == 1


def test_the_folder_is_the_target_of_the_commands_project(tmp_path):
    project = tmp_path / "project"
    assert templates_folder({}, project) == project / "target" / "compiled_templates"
    env = {"DBT_PROJECT_DIR": str(tmp_path / "elsewhere")}
    assert (
        templates_folder(env, project) == tmp_path / "elsewhere" / "target" / "compiled_templates"
    )
    assert (
        templates_folder({"DBT_PROJECT_DIR": "sub"}, project)
        == project / "sub" / "target" / "compiled_templates"
    )


def test_the_warm_process_reads_again_a_file_written_since_it_read_it(tmp_path, monkeypatch):
    from orchestration import warm_dbt_server

    path = cache_file(tmp_path)
    before = CompiledTemplates(path).load()  # none yet, as in a first run before its parse
    assert before.is_current()
    monkeypatch.setattr(warm_dbt_server, "_kept_templates", before)
    assert warm_dbt_server._templates(tmp_path) is before  # unchanged: what was read
    written = _kept_once(path)  # the parse's fork compiled and saved
    assert not before.is_current()
    again = warm_dbt_server._templates(tmp_path)
    assert again is not before
    assert set(again.kept) == set(written.used)
    assert again.is_current()
    monkeypatch.setattr(warm_dbt_server, "_kept_templates", again)
    assert warm_dbt_server._templates(tmp_path) is again
