"""Loopback-only mode refuses (and logs) connections to other hosts, and lets loopback through.

No packet is ever sent to a foreign address here: the events are raised with `sys.audit`,
exactly as CPython raises them just before a real connect or lookup.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline.netguard import destination, is_local_host
from tests.conftest import REPO


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost",
                                  "LOCALHOST", b"127.0.0.1", None, ""])
def test_loopback_hosts_are_local(host):
    assert is_local_host(host)


@pytest.mark.parametrize("host", ["192.0.2.1", "10.0.0.1", "172.16.0.1", "192.168.1.1",
                                  "8.8.8.8", "2001:db8::1", "publicsuffix.org",
                                  "localhost.example.com", 42])
def test_other_hosts_are_not(host):
    assert not is_local_host(host)


def test_destination_of_socket_events():
    assert destination("socket.getaddrinfo", ("example.org", 443, 0, 0, 0)) == "example.org"
    assert destination("socket.connect", (None, ("192.0.2.1", 80))) == "192.0.2.1"
    assert destination("socket.connect", (None, "/run/postgresql/.s.PGSQL.5432")) is None
    assert destination("socket.bind", (None, ("0.0.0.0", 0))) is None


def test_guard_refuses_and_logs_in_a_child_process(tmp_path: Path):
    log = tmp_path / "violations.log"
    code = (
        "import sys, pipeline\n"
        "try:\n"
        "    sys.audit('socket.connect', None, ('192.0.2.1', 80))\n"
        "except ConnectionRefusedError as e:\n"
        "    print('refused:', e)\n"
        "sys.audit('socket.connect', None, ('127.0.0.1', 80))\n"
        "print('loopback ok')\n"
    )
    env = {**os.environ, "LURKER_LOOPBACK_ONLY": "1", "LURKER_NET_VIOLATIONS": str(log)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "192.0.2.1" in out.stdout
    assert "loopback ok" in out.stdout
    assert "192.0.2.1" in log.read_text(encoding="utf-8")


def test_guard_is_off_without_the_flag(tmp_path: Path):
    log = tmp_path / "violations.log"
    code = "import sys, pipeline\nsys.audit('socket.connect', None, ('192.0.2.1', 80))\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LURKER_")}
    env["LURKER_NET_VIOLATIONS"] = str(log)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not log.exists()


def test_real_loopback_connection_still_works():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        accepted.append(conn.recv(5))
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(server.getsockname(), timeout=5) as client:
        client.sendall(b"hello")
    thread.join(5)
    server.close()
    assert accepted == [b"hello"]
