"""Running a step in its own process and summarising repeated runs (median, min, max)."""

import json
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

    def add(self, out: dict[str, Any], *extra: str) -> None:
        self.seconds.append(float(out["seconds"]))
        self.peak_mb.append(float(out["peak_rss_mb"]))
        for key in extra:
            self.extra.setdefault(key, []).append(float(out[key]))

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "median": self.median,
            "min": min(self.seconds),
            "max": max(self.seconds),
            "peak_mb": max(self.peak_mb),
            "extra": {k: statistics.median(v) for k, v in self.extra.items()},
        }
