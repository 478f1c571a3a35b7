"""`dbt` for the pipeline's dbt step when a warm dbt process is running (orchestration.warm_dbt).

    python -I -S warm_dbt_launch.py SOCKET DBT [dbt arguments...]

It hands its arguments, working folder, environment and standard streams to the warm
process over the Unix socket SOCKET; a fork of that process, with dbt already imported,
runs the command on these very streams and reports its exit status, which becomes this
process's. SIGINT, SIGTERM and SIGHUP sent here are passed on to that fork, so stopping
this process stops dbt as it would stop a dbt of its own. When no warm process answers
(not started, or gone), DBT, the installed dbt, runs the command instead.

It uses the standard library only and runs without site-packages, so it starts in tens of
milliseconds: the point is not to pay dbt's two seconds of imports again.
"""

import contextlib
import json
import os
import signal
import socket
import sys
from typing import Any

STREAMS = (0, 1, 2)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def read_line(conn: socket.socket, pending: bytearray) -> dict[str, Any] | None:
    """The next JSON line from the other end; None once it closed the connection."""
    while b"\n" not in pending:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        pending.extend(chunk)
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return json.loads(line)


def open_streams() -> list[int]:
    """The standard streams this process has open (a job without stdin has no fd 0)."""
    streams = []
    for fd in STREAMS:
        try:
            os.fstat(fd)
        except OSError:
            continue
        streams.append(fd)
    return streams


def _installed_dbt(dbt: str, args: list[str], why: str) -> None:
    print(f"warm dbt process not reachable ({why}): running {dbt}", file=sys.stderr, flush=True)
    os.execv(dbt, [dbt, *args])


def main(argv: list[str]) -> int:
    path, dbt, args = argv[0], argv[1], argv[2:]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    streams = open_streams()
    request = {"args": args, "cwd": os.getcwd(), "env": dict(os.environ), "streams": streams}
    body = json.dumps(request).encode()
    pending = bytearray()
    try:
        conn.connect(path)
        socket.send_fds(conn, [len(body).to_bytes(8, "big")], streams)
        conn.sendall(body)
        started = read_line(conn, pending)
        why = "it closed the connection"
    except OSError as error:
        started, why = None, str(error)
    if started is None:  # nothing ran: the installed dbt runs the command
        conn.close()
        _installed_dbt(dbt, args, why)
    if "exit" in started:  # the fork failed before dbt started (its error is on stderr)
        return started["exit"]
    pid = started["pid"]

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    ended = read_line(conn, pending)
    if ended is None:
        print(
            f"dbt (warm process {pid}) ended without an exit status: killed or crashed",
            file=sys.stderr,
        )
        return 1
    return ended["exit"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
