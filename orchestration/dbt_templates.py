"""The Jinja templates dbt compiles, kept from one dbt command of the warm process to the next.

Before it runs a node, dbt compiles the node's SQL and each macro its materialization
calls from Jinja source into Python code: some 800 templates for a nightly `dbt build` of
the default universe, the same ones night after night, and about a fifth of dbt's node
thread (bench/hotspots.md). Jinja's output for a source depends only on that source, its
name and the environment's kind and settings, so the code objects it made can be reused.

`CompiledTemplates` keeps them, marshalled, in one file of the dbt project's target folder
per Python, Jinja and dbt-common version. The warm dbt process loads the pipeline's before
it forks; in a fork, `install` makes Jinja's `Environment.compile` return the kept code for a
source compiled before by an environment of the same class, filters, tests and settings,
and compile anything else as always; `save` then rewrites the file when the command
compiled something new. Jinja's errors are unchanged: a template that fails to compile is
never kept. With DBT_MACRO_DEBUGGING set (dbt then writes each template's Python out for
debugging), nothing is reused.
"""

import hashlib
import marshal
import os
import sys
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2

from ingestion.paths import DBT_PROJECT_DIR
from orchestration.partial_parse import replace_file

# Past this many, a rewrite keeps only what its command used.
MAX_KEPT = 5000


def templates_folder(env: Mapping[str, str], cwd: Path) -> Path:
    """Where a dbt command with this environment and working folder keeps its templates:
    the target folder of its project (DBT_PROJECT_DIR, as dagster-dbt sets it, else the
    working folder, as dbt takes it)."""
    project = cwd / env.get("DBT_PROJECT_DIR", "")
    return project / "target" / "compiled_templates"


def cache_file(folder: Path = DBT_PROJECT_DIR / "target" / "compiled_templates") -> Path:
    """The file for this interpreter and these versions of Jinja and dbt-common: a code
    object is only valid for the Python that made it."""
    versions = f"jinja2-{jinja2.__version__}-dbt-common-{version('dbt-common')}"
    return folder / f"{sys.implementation.cache_tag}-{versions}.marshal"


def _callables(named: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Filters or tests by name, with what Jinja passes them first (context, environment):
    the generated code calls each one accordingly, and looks it up by name when it runs."""
    return tuple(
        sorted((name, str(getattr(f, "jinja_pass_arg", None))) for name, f in named.items())
    )


def _environment_key(environment: jinja2.Environment) -> tuple[Any, ...]:
    """What of an environment Jinja's code generation reads besides the source."""
    kind = type(environment)
    return (
        f"{kind.__module__}.{kind.__qualname__}",
        _callables(environment.filters),
        _callables(environment.tests),
        tuple(sorted(environment.extensions)),
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        environment.is_async,
        repr(environment.autoescape),
        environment.finalize is not None,
    )


class CompiledTemplates:
    """The code objects Jinja compiled, by source and environment, as kept in `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept: dict[str, CodeType] = {}
        self.used: dict[str, CodeType] = {}
        self.compiled = 0
        self.loaded: tuple[int, int] | None = None  # the file's time and size when read

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def is_current(self) -> bool:
        """Whether the file is still the one read (or still missing): a process that read
        it earlier sees what another has written since."""
        return self._stat() == self.loaded

    def load(self) -> "CompiledTemplates":
        """Read the file; one that is missing or unreadable leaves nothing kept."""
        self.loaded = self._stat()
        try:
            kept = marshal.loads(self.path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return self
        if isinstance(kept, dict):
            self.kept = {k: v for k, v in kept.items() if isinstance(v, CodeType)}
        return self

    @staticmethod
    def key(
        environment: jinja2.Environment,
        source: str,
        name: str | None,
        filename: str | None,
        defer_init: bool,
    ) -> str:
        parts = (_environment_key(environment), source, name, filename, defer_init)
        return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()

    def install(self) -> None:
        """Make `jinja2.Environment.compile` in this process go through the kept code."""
        compile_template = jinja2.Environment.compile
        templates = self

        def compile_or_reuse(
            environment: jinja2.Environment,
            source: Any,
            name: str | None = None,
            filename: str | None = None,
            raw: bool = False,
            defer_init: bool = False,
        ) -> Any:
            if raw or not isinstance(source, str) or os.environ.get("DBT_MACRO_DEBUGGING"):
                return compile_template(environment, source, name, filename, raw, defer_init)
            key = templates.key(environment, source, name, filename, defer_init)
            code = templates.used.get(key) or templates.kept.get(key)
            if code is None:
                code = compile_template(environment, source, name, filename, raw, defer_init)
                templates.compiled += 1
            templates.used[key] = code
            return code

        jinja2.Environment.compile = compile_or_reuse  # type: ignore[assignment, method-assign]

    def save(self) -> bool:
        """Rewrite the file when this process compiled templates it did not have; whether
        it did. The file is replaced whole, so that a reader meanwhile reads one version."""
        if not self.compiled:
            return False
        kept = {**self.kept, **self.used}
        if len(kept) > MAX_KEPT:
            kept = dict(self.used)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(self.path, marshal.dumps(kept))
        return True
