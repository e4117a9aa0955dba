"""Shared fixtures: a real demo forum over loopback, and `lurker` run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

# Every process of the test session (this one, `lurker` subprocesses, their workers) runs in
# loopback-only mode: a connection to any other host is refused and logged here, and the
# session fails if anything tried (see pipeline/netguard.py).
NET_LOG = Path(tempfile.gettempdir()) / f"lurker-net-violations-{os.getpid()}.log"
os.environ["LURKER_LOOPBACK_ONLY"] = "1"
os.environ["LURKER_NET_VIOLATIONS"] = str(NET_LOG)
NET_LOG.unlink(missing_ok=True)

from pipeline import netguard  # noqa: E402  (after the environment is set)

netguard.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if NET_LOG.exists() and NET_LOG.read_text(encoding="utf-8").strip():
        attempts = NET_LOG.read_text(encoding="utf-8")
        print(f"\nnon-loopback network attempts during the tests:\n{attempts}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def forum_factory() -> Iterator[Callable[..., object]]:
    from pipeline.demoforum.quirks import Quirks
    from pipeline.demoforum.server import DemoForum

    started: list[DemoForum] = []

    def make(markup: str = "x3", quirks: Quirks | None = None, **kwargs: object) -> DemoForum:
        forum = DemoForum(markup=markup, quirks=quirks or Quirks.none(), **kwargs)
        forum.start()
        started.append(forum)
        return forum

    yield make
    for forum in started:
        forum.stop()


@pytest.fixture(scope="module")
def prefect_env() -> Iterator[None]:
    """Restore the environment the processing flow changes, and stop Prefect's temporary API
    server while pytest's streams are still open (its exit hook would log into a closed one)."""
    saved = dict(os.environ)
    yield
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer

    # Send what Prefect still holds for the server while it runs: its exit hooks would try
    # after it stopped and print "--- Error logging to API ---" under pytest's summary.
    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)
    SubprocessASGIServer().stop()
    os.environ.clear()
    os.environ.update(saved)


def lurker(*args: str, workspace: Path | None = None, timeout: float = 600,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (Scrapy's reactor runs once per process)."""
    cmd = [sys.executable, "-m", "pipeline.cli", *args]
    if workspace is not None:
        cmd += ["--workspace", str(workspace)]
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    full_env.pop("LURKER_HOME", None)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env=full_env)


def thread_requests(forum: object) -> list[str]:
    return [r.path for r in forum.requests if r.kind == "thread"]  # type: ignore[attr-defined]


def iso_utc(value: str | datetime) -> datetime:
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    from tests.postgres import find_bindir, postgres_server

    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide PostgreSQL (.ci/run installs it)")
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty store, once on SQLite and once on the session's real PostgreSQL."""
    from pipeline.store import ArchiveStore
    from pipeline.store.archive import make_engine
    from pipeline.store.models import Base

    if request.param == "sqlite":
        s = ArchiveStore(f"sqlite:///{tmp_path / 'a.sqlite'}")
    else:
        url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
        Base.metadata.drop_all(engine)  # one server per session: start each test empty
        engine.dispose()
        s = ArchiveStore(url)
    yield s
    s.close()
