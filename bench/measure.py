"""Running a step in its own process and summarising repeated runs (median, min, max)."""

import json
import math
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from ingestion.paths import PROJECT_ROOT


class StepError(RuntimeError):
    """A measured step failed; the message carries its error."""


def run_step(spec: dict[str, Any]) -> dict[str, Any]:
    """Run `bench.worker` with the spec and return its JSON figures."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.worker", json.dumps(spec, default=str)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if not lines:
        raise StepError(f"step {spec['step']} printed nothing: {completed.stderr[-3000:]}")
    out = json.loads(lines[-1])
    if out.get("error"):
        raise StepError(f"step {spec['step']} failed: {out['error']}")
    return out


@dataclass
class Measure:
    """Repeated runs of one measurement."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, out: dict[str, Any], *extra: str) -> None:
        self.seconds.append(float(out["seconds"]))
        self.peak_mb.append(float(out["peak_rss_mb"]))
        for key in extra:
            self.extra.setdefault(key, []).append(float(out[key]))

    def fail(self, error: str, *extra: str) -> None:
        """A run that failed: it counts as no figure, and its error is kept."""
        self.errors.append(error[-2000:])
        for key in extra:
            self.extra.setdefault(key, [])

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else math.nan

    def as_dict(self) -> dict[str, Any]:
        def median(values: list[float]) -> float:
            return statistics.median(values) if values else math.nan

        return {
            "seconds": self.seconds,
            "median": self.median,
            "min": min(self.seconds, default=math.nan),
            "max": max(self.seconds, default=math.nan),
            "peak_mb": max(self.peak_mb, default=math.nan),
            "extra": {k: median(v) for k, v in self.extra.items()},
            "errors": self.errors,
        }
