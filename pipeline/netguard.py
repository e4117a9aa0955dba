"""Loopback-only mode: refuse any network connection that would leave this machine.

Tests and the demo must only talk to servers the project starts on 127.0.0.1. A library that
quietly phones home (a public-suffix download, telemetry, an update check) would break that
promise without failing anything, so when ``LURKER_LOOPBACK_ONLY=1`` a process refuses such
connections and, if ``LURKER_NET_VIOLATIONS`` names a file, appends one line per attempt to it
so that the test session can fail loudly. Implemented with a CPython audit hook, which sees
every ``socket.connect`` and ``getaddrinfo`` made from Python code.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

ENV_FLAG = "LURKER_LOOPBACK_ONLY"
ENV_LOG = "LURKER_NET_VIOLATIONS"
LOCAL_NAMES = frozenset({"", "localhost", "localhost.localdomain", "ip6-localhost"})

_installed = False


def is_local_host(host: object) -> bool:
    """True for loopback addresses and names (and for no host at all, as in a bind)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def destination(event: str, args: tuple[Any, ...]) -> object | None:
    """The host an audited socket event is about to reach, or None if it reaches nothing."""
    if event == "socket.getaddrinfo":
        return args[0]
    if event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if isinstance(address, tuple) and address:
            return address[0]
        return None  # AF_UNIX paths never leave the machine
    return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in ("socket.getaddrinfo", "socket.connect", "socket.sendto"):
        return
    host = destination(event, args)
    if host is None or is_local_host(host):
        return
    log = os.environ.get(ENV_LOG)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {event} {host!r} argv={sys.argv[:3]}\n")
    raise ConnectionRefusedError(f"lurker loopback-only mode: refused {event} to {host!r}")


def install() -> None:
    """Install the hook in this process (audit hooks cannot be removed; idempotent)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def install_from_env() -> None:
    if os.environ.get(ENV_FLAG) == "1":
        install()
