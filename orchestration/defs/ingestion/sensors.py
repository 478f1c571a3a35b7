"""The estimates landing zone, watched: a new or changed CSV file starts a run that loads
just that file. The run key is the file name plus its content hash, and the cursor keeps
the hashes already requested, so a restart or a second tick never loads a file twice."""

import hashlib
import json
import os

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ingestion.config import Settings
from ingestion.landing import estimates_zone
from orchestration.defs.ingestion.jobs import estimates_landing_job


def _content_hash(path: os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@sensor(
    name="estimates_landing_sensor",
    job=estimates_landing_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Loads each new or changed CSV file in the estimates landing zone.",
)
def estimates_landing_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    zone = estimates_zone(Settings.from_env())
    if not zone.is_dir():
        return SkipReason(f"{zone} does not exist yet")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    present: dict[str, str] = {}
    requests = []
    for entry in sorted(zone.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".csv") or not entry.is_file() or entry.is_symlink():
            continue
        digest = _content_hash(entry)
        present[entry.name] = digest
        if seen.get(entry.name) == digest:
            continue
        requests.append(
            RunRequest(
                run_key=f"{entry.name}:{digest[:16]}",
                run_config={"resources": {"market_data": {"config": {"landing_file": entry.name}}}},
                tags={"landing_file": entry.name, "content_sha256": digest},
            )
        )
    # Only files still waiting are remembered; run keys guard files dropped again later.
    cursor = json.dumps({name: present[name] for name in sorted(present)})
    if not requests:
        return SensorResult(skip_reason=SkipReason("no new or changed file"), cursor=cursor)
    return SensorResult(run_requests=requests, cursor=cursor)
