"""The estimates landing zone: analysts drop CSV files, the pipeline loads or quarantines them.

The zone is `Settings.landing_dir / "estimates"` (see `estimates_zone`). Every `*.csv` file
directly in it is taken in name order. A file is read with the documented estimates
columns (as_of_date, universe, fiscal_year, eps_growth_pct and an optional source, empty
meaning "landing"; see `ingestion.providers.estimates_csv`), validated against
`schemas.ESTIMATES` and loaded into raw.earnings_estimates in one transaction; a row whose
as_of_date is after today in New York rejects the file (a snapshot cannot come from the
future), its error naming the line and the date. Loads are
idempotent, so a file dropped twice loads once: the second time every row is unchanged.

A loaded file moves to `<zone>/archive/<name>`; a rejected one to `<zone>/quarantine/<name>`
beside `<name>.error.txt`, which says why. A name already taken in either folder gets a
content-hash suffix. A rejected file changes nothing stored: it is refused before the load.
A file the warehouse failed to write stays where it is, to be tried again on the next run.

Refused outright: symbolic links, names outside [A-Za-z0-9._-]+.csv, anything that is not a
regular file, files over 10 MB, empty files, files that are not UTF-8. Anything else in the
zone (other suffixes, folders) is left alone.
"""

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.config import Settings
from ingestion.loader import LoadResult, LoadTotals, load_frame
from ingestion.providers.csv_reading import FileFormatError
from ingestion.providers.estimates_csv import estimates_frame, read_estimate_rows
from ingestion.schemas import ESTIMATES, FrameValidationError, validate
from ingestion.tables import logged_name

PROVIDER = "landing"
MAX_FILE_BYTES = 10 * 1024 * 1024
FILE_NAME = re.compile(r"[A-Za-z0-9._-]+\.csv")
ARCHIVE = "archive"
QUARANTINE = "quarantine"
HASH_CHARS = 16
LIMIT_TEXT = f"{MAX_FILE_BYTES // (1024 * 1024)} MB"


def estimates_zone(settings: Settings) -> Path:
    """Where analysts drop estimates files."""
    return settings.landing_dir / "estimates"


class RejectedFile(ValueError):
    """A dropped file cannot be loaded; the message names the file and, where it can, the row."""


@dataclass(frozen=True)
class LandedFile:
    name: str
    archived_as: Path
    result: LoadResult


@dataclass
class LandingReport(LoadTotals):
    """What one pass over the zone did, for logs and the run summary."""

    zone: Path
    loaded: list[LandedFile] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def load_results(self) -> list[LoadResult]:
        return [f.result for f in self.loaded]

    def summary(self) -> str:
        text = (
            f"landing zone {self.zone}: {len(self.loaded)} file(s) loaded ({self.received} rows: "
            f"{self.changes()}), {len(self.quarantined)} quarantined"
        )
        if self.quarantined:
            text += f" ({', '.join(sorted(self.quarantined))})"
        if self.failed:
            text += f"; load FAILED for {', '.join(sorted(self.failed))} (left in place)"
        return text


def process_landing_zone(
    con: duckdb.DuckDBPyConnection,
    zone: Path,
    log: Callable[[str], None] = print,
    only: str | None = None,
) -> LandingReport:
    """Load, archive or quarantine every CSV file directly in `zone` (or just `only`).

    `con` must hold the raw schema (`ingestion.loader.ensure_raw_schema`).
    """
    report = LandingReport(zone)
    if only is not None and not FILE_NAME.fullmatch(only):
        # A name from run configuration: never a path, so never outside the zone.
        reason = (
            f"{only!r}: not a file name of the landing zone (letters, digits, '.', '_' and "
            "'-' before .csv, no folders)"
        )
        report.failed[only] = reason
        log(_printable(f"{PROVIDER}: REFUSED {reason}"))
        return report
    if not zone.is_dir():
        log(f"{PROVIDER}: {zone} does not exist, nothing to load")
        return report
    for entry in sorted(zone.iterdir(), key=lambda p: p.name):
        if only is not None and entry.name != only:
            continue
        if not entry.name.endswith(".csv"):
            if entry.name not in (ARCHIVE, QUARANTINE):
                report.ignored.append(entry.name)
            continue
        _process_file(con, zone, entry, report, log)
    if report.ignored:
        log(_printable(f"{PROVIDER}: left alone: {', '.join(report.ignored)}"))
    log(_printable(report.summary()))
    return report


def _printable(text: object) -> str:
    """File names may hold bytes that are not UTF-8; logs get them escaped."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _process_file(
    con: duckdb.DuckDBPyConnection,
    zone: Path,
    entry: Path,
    report: LandingReport,
    log: Callable[[str], None],
) -> None:
    name, shown = entry.name, _printable(entry.name)
    try:
        body = _read(entry)
        if body is None:
            report.ignored.append(name)
            return
        frame = _frame(body, name)
    except FileNotFoundError:  # removed while the zone was being read
        return
    except RejectedFile as exc:
        reason = str(exc)
        report.quarantined[name] = reason
        try:
            moved = _quarantine(entry, zone, reason)
        except OSError as move_error:
            report.failed[name] = f"rejected ({reason}) but could not be quarantined: {move_error}"
            log(_printable(f"{PROVIDER}: {shown}: REJECTED and could not be moved: {move_error}"))
            return
        log(_printable(f"{PROVIDER}: {shown}: REJECTED, moved to {moved}: {reason}"))
        return
    as_of = frame["as_of_date"]
    try:
        result = load_frame(
            con,
            table=ESTIMATES.table,
            dataset=ESTIMATES,
            frame=frame,
            asset=logged_name(ESTIMATES.table),
            provider=PROVIDER,
            window=(as_of.min().date(), as_of.max().date()),
        )
    except Exception as exc:  # the warehouse failed, not the file: keep it for the next run
        report.failed[name] = str(exc)
        log(f"{PROVIDER}: {shown}: load FAILED, left in the zone: {exc}")
        return
    try:
        archived = _move(entry, zone / ARCHIVE, _digest_bytes(body))
    except OSError as exc:
        # Loaded: a second pass finds every row unchanged, so leaving it is harmless.
        archived = entry
        log(f"{PROVIDER}: {shown}: loaded but could not be archived: {exc}")
    report.loaded.append(LandedFile(name, archived, result))
    log(
        f"{PROVIDER}: {shown}: {result.received} rows, {result.inserted} inserted, "
        f"{result.updated} updated, {result.unchanged} unchanged; archived as {archived}"
    )


def _read(entry: Path) -> bytes | None:
    """The file's bytes; None for a folder (left alone); RejectedFile for anything unsafe."""
    name = entry.name
    info = entry.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise RejectedFile(f"{name}: is a symbolic link; copy the file itself into the zone")
    if stat.S_ISDIR(info.st_mode):
        return None
    if not FILE_NAME.fullmatch(name):
        raise RejectedFile(
            f"{name!r}: the name may only hold letters, digits, '.', '_' and '-' before .csv"
        )
    if not stat.S_ISREG(info.st_mode):
        raise RejectedFile(f"{name}: is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise RejectedFile(f"{name}: {info.st_size} bytes is over the {LIMIT_TEXT} limit")
    # A file swapped for a link or a pipe after the checks above is refused, not followed
    # and not waited on.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(entry, flags)
    except OSError as exc:
        raise RejectedFile(f"{name}: cannot be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RejectedFile(f"{name}: is not a regular file")
        body = handle.read(MAX_FILE_BYTES + 1)
    if len(body) > MAX_FILE_BYTES:
        raise RejectedFile(f"{name}: over the {LIMIT_TEXT} limit")
    return body


ROW = re.compile(r"^(\s*- row )(\d+)( \()", re.MULTILINE)


def _frame(body: bytes, name: str) -> pd.DataFrame:
    """The validated ESTIMATES frame of a dropped file, or RejectedFile saying why."""
    try:
        rows = read_estimate_rows(body, file=name, default_source=PROVIDER)
    except FileFormatError as exc:
        raise RejectedFile(str(exc)) from None
    # Validated in file order, so the schema's row numbers can be given as file lines too.
    frame = estimates_frame(rows, sort=False)
    try:
        return validate(frame, ESTIMATES, f"{PROVIDER}:{name}")
    except FrameValidationError as exc:
        lines = [r.line for r in rows]
        message = ROW.sub(
            lambda m: (
                f"{m[1]}{m[2]}, line {lines[int(m[2])]}{m[3]}" if int(m[2]) < len(lines) else m[0]
            ),
            str(exc),
        )
        raise RejectedFile(message) from None


def _digest_bytes(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:HASH_CHARS]


def _digest_file(entry: Path) -> str:
    """The content hash of a regular file (read in chunks, whatever its size); of its name
    for anything else, such as a link, which is never followed."""
    digest = hashlib.sha256()
    try:
        if entry.is_symlink() or not entry.is_file():
            raise OSError
        with entry.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        digest = hashlib.sha256(entry.name.encode())
    return digest.hexdigest()[:HASH_CHARS]


def _target(folder: Path, name: str, digest: str) -> Path:
    """`folder/name`; when taken, `<stem>.<hash>.csv`, then `<stem>.<hash>-2.csv` ..."""
    target = folder / name
    stem = name.removesuffix(".csv")
    repeat = 1
    while os.path.lexists(target):
        repeat += 1
        suffix = digest if repeat == 2 else f"{digest}-{repeat - 1}"
        target = folder / f"{stem}.{suffix}.csv"
    return target


def _move(entry: Path, folder: Path, digest: str) -> Path:
    if folder.is_symlink():
        raise OSError(f"{folder} is a symbolic link; files are only moved into a real folder")
    folder.mkdir(exist_ok=True)
    target = _target(folder, entry.name, digest)
    entry.rename(target)
    return target


def _quarantine(entry: Path, zone: Path, reason: str) -> Path:
    moved = _move(entry, zone / QUARANTINE, _digest_file(entry))
    error_file = moved.with_name(f"{moved.name}.error.txt")
    error_file.write_text(reason + "\n", encoding="utf-8", errors="backslashreplace")
    return moved
