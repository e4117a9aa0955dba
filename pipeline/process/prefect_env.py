"""Run Prefect on its local ephemeral API, with its state inside the workspace, quietly.

Must run before `prefect` is first imported in the process: Prefect reads its settings from the
environment at import time. `lurker process` calls it first thing; a process that imported
Prefect earlier keeps the settings it started with (tests rely on that to share one API).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# Starting the temporary API server (a uvicorn subprocess that imports Prefect's server and
# migrates its SQLite database) takes ~5-15 s on two shared cores, more on the first run;
# Prefect's default of 20 s is too tight for a slow laptop.
STARTUP_TIMEOUT_SECONDS = 120


def configure_prefect(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {
        # Flow and task run records live in the workspace (PREFECT_HOME/prefect.db).
        "PREFECT_HOME": str(home),
        # No server to configure: start the local ephemeral API on demand.
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT_SECONDS),
        # Nothing leaves the machine (the archive is private research data).
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
        # Quiet console: Prefect's per-run INFO lines would bury lurker's own summary.
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # The temporary server shares our stderr; stopped right after the flow, its event
        # recorder logs tracebacks for task-run events it is still flushing (at worst the
        # last task runs' final states go unrecorded; the flow run's state is written through
        # the API). A real API failure still fails the client loudly.
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        # Results are written to the store by the flow itself; nothing to pickle to disk.
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        # The server records task runs from their events one event per write by default
        # (~25 ms of its CPU per task run, taken from the workers on a 2-core machine); in
        # batches of up to 100, flushed at least every second, it uses a third of that. The
        # recorder flushes what it holds when the server stops, so no task run goes missing
        # (tests/test_process_flow.py reads them back after `lurker process` has exited).
        **{f"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_{name}": value
           for name, value in (("BATCH_SIZE", "100"), ("READ_BATCH_SIZE", "100"),
                               ("FLUSH_INTERVAL", "1"))},
    }
    os.environ.update(env)
    # A configured remote API would send this private data elsewhere: always local here.
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("PREFECT_API_KEY", None)


@contextlib.contextmanager
def flow_run_settings() -> Iterator[None]:
    """Prefect settings for our flow runs that the environment cannot express.

    No flow-run heartbeats: they let a server with automations mark a crashed run, which a
    local temporary server has none of, and the engine's heartbeat thread, which sleeps in
    one-second steps, is joined when the run ends: up to 1 s added to every run, 0.5 s on
    average. (The setting is an int or None; an environment variable cannot say None.)
    """
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


def start_api_in_background() -> threading.Thread:
    """Start Prefect's temporary API server now, in a thread, and return the thread.

    The server is a separate process whose start-up (seconds) then overlaps with lurker's own
    (opening the store, loading jieba's dictionary); join the thread before running the flow.
    Prefect's client later finds the running server (`SubprocessASGIServer` is a singleton).
    """

    def start() -> None:
        from prefect.server.api.server import SubprocessASGIServer

        # A failure here (e.g. a start-up time-out on a busy machine) is not final: Prefect's
        # client starts the server again when the flow begins, and reports its own error.
        with contextlib.suppress(Exception):
            SubprocessASGIServer().start()

    stop_servers_with_this_process()
    thread = threading.Thread(target=start, name="prefect-api-start", daemon=True)
    thread.start()
    return thread


# In the command line of Prefect's temporary server (`SubprocessASGIServer`), and of no other.
SERVER_MARK = "prefect.server.api.server:create_app"
# Set in this process's environment before its server starts, which inherits it: the mark of
# the servers this process started.
OWNER_ENV = "LURKER_PREFECT_SERVER_OWNER"

# Waits for the end of its stdin: the pipe's other end is held by the watched-over process
# alone (not inherited), so EOF comes when that process has ended, however it ended. Then it
# stops every Prefect server whose environment carries that process's owner mark.
_WATCHDOG = """
import os, signal, sys
sys.stdin.buffer.read()
owner, mark = sys.argv[1].encode(), sys.argv[2].encode()
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) == os.getpid():
        continue
    try:
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            if mark not in f.read():
                continue
        with open(f"/proc/{entry}/environ", "rb") as f:
            if owner in f.read().split(b"\\0"):
                os.kill(int(entry), signal.SIGTERM)
    except OSError:
        pass
"""
_watchdog: list[subprocess.Popen[bytes]] = []  # its pipe stays open while this process runs


def stop_servers_with_this_process() -> None:
    """Make sure that a Prefect server this process starts from now on is stopped (SIGTERM)
    when this process ends, even by SIGKILL or a crash.

    Prefect stops its temporary API server from an exit hook, which a killed `lurker
    process` never runs: the server would keep running, holding the workspace's Prefect
    database. A small watchdog process (Linux: it reads /proc) stops it instead; started
    before the server, it also covers a kill during the server's start-up.
    """
    if _watchdog or not Path("/proc/self/environ").exists():
        return  # already watched; or no /proc (not Linux): Prefect's own exit hook only
    os.environ[OWNER_ENV] = token = f"{os.getpid()}-{time.time_ns()}"
    _watchdog.append(subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, f"{OWNER_ENV}={token}", SERVER_MARK],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
