"""Stable, unguessable pseudonyms for forum usernames, in the citation style of the field.

Netnographies cite participants by short capital-letter codes ("DG wrote: …"). A code here is
derived from a keyed hash (HMAC-SHA256) of the username with a per-workspace secret key, so:

- the same key gives the same code to the same name on every run (re-exports stay citeable);
- another key gives unrelated codes (two projects cannot be linked through their codes);
- without the key nobody can recompute or test a guess ("is DG 东莞老王?"), and the letters never
  come from the name itself (a code that happens to equal the Latin initials of the name it
  stands for is skipped as if taken).

Uniqueness within a project, deterministically. Every name has its own endless sequence of
candidate codes (two letters first, then three, then four, each drawn from HMAC(key, name,
counter)). The project's names are assigned in *rank* order, rank being HMAC(key, name), and each
takes its first candidate not taken yet. Rank depends only on the key and the name, so the same
key and the same set of names give the same mapping whatever order the names arrive in. A name
only loses its two-letter code to a name of lower rank that drew the same two letters; adding a
new author can therefore change at most the codes of names sharing its first candidate.

A project's codes are issued once and then fixed (`issue_codes` with the codes already
taken; the processing flow keeps them in the store's `pseudonyms` register, keyed by
`name_mac`, never by the name): a later crawl's new authors take the first candidate of their
own sequence that is still free, so no earlier code ever moves. On the first run, when every
name is new, this is exactly the rank-order assignment above.

Names looked up without being registered (an @mention of someone who never posted) get the first
candidate free at that moment: those are unique too, but depend on lookup order; register every
name up front (`Pseudonymiser(key, names=...)`) for a mapping that does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

__all__ = [
    "KEY_BYTES",
    "RESERVED_CODES",
    "KeyFileError",
    "Pseudonymiser",
    "candidate_codes",
    "issue_codes",
    "load_or_create_key",
    "name_mac",
]

KEY_BYTES = 32
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Bytes >= 234 are skipped so that byte % 26 is uniform (234 = 9 * 26).
_UNBIASED = 234
_CONTEXT = b"lurker/pseudonym/v1\x00"
# Codes that read as trade or forum vocabulary in a quotation ("QQ said", "@PI"); never issued.
RESERVED_CODES = frozenset({
    "QQ", "VX", "WX", "ID", "OK", "PO", "PI", "TT", "LC", "BL", "CI", "PL", "CE", "UL", "QC", "HS",
    "US", "UK", "EU", "CN", "SB", "NM", "DDP", "DDU", "FOB", "CIF", "EXW", "MOQ", "OEM", "ODM",
    "OBM", "SKU", "VIP", "CEO", "LOL", "WTF", "TMD", "SOHO",
})


class KeyFileError(RuntimeError):
    """The workspace key file is unsafe or damaged (message says how to fix it)."""


# --- key file --------------------------------------------------------------------------------


def load_or_create_key(path: Path | str) -> bytes:
    """The workspace's pseudonym key: read it, or create it (32 random bytes, mode 0600).

    Creation is atomic and never overwrites: the key is written to a private temporary file and
    hard-linked into place, so a concurrent process either wins or reads the winner's key.
    Losing this file changes every pseudonym; back it up with the workspace, never share it.
    """
    path = Path(path)
    if not path.exists():
        _create_key(path)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: the pseudonym key is accessible to other users "
            f"(mode {stat.S_IMODE(mode):04o}); restrict it with: chmod 600 {path}"
        )
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"{path}: expected a {KEY_BYTES}-byte key, found {len(key)} bytes; restore it from a "
            "backup (deleting it creates a new key and changes every pseudonym)"
        )
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a umask cannot widen 0600, but one of 0o777 would leave 0000
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        # Atomic and no-clobber, unlike os.replace: if another process created the key first,
        # the link fails and its key is the one everybody reads.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported here (e.g. Windows); the link itself is already atomic
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# --- codes -----------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return unicodedata.normalize("NFC", name.strip())


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, _CONTEXT + b"\x00".join(parts), hashlib.sha256).digest()


def _letters(key: bytes, name: bytes, counter: int, length: int) -> str:
    out: list[str] = []
    block = 0
    while len(out) < length:  # one block almost always suffices (32 bytes, ~91% usable)
        digest = _mac(key, b"code", name, counter.to_bytes(4, "big"), block.to_bytes(4, "big"))
        out.extend(_ALPHABET[b % 26] for b in digest if b < _UNBIASED)
        block += 1
    return "".join(out[:length])


def candidate_codes(key: bytes, name: str) -> Iterator[str]:
    """The endless candidate sequence of `name`: one 2-letter code, then 3-letter, 4-letter ..."""
    raw = _normal(name).encode("utf-8")
    counter = 0
    while True:
        length = 2 if counter == 0 else 3 + (counter - 1) // 256
        yield _letters(key, raw, counter, length)
        counter += 1


def _rank(key: bytes, name: str) -> bytes:
    return _mac(key, b"rank", _normal(name).encode("utf-8"))


def name_mac(key: bytes, name: str) -> str:
    """The register's key for `name`: HMAC(key, normalised name), hex (also its rank)."""
    return _rank(key, name).hex()


def issue_codes(key: bytes, names: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Codes for `names` (all new), given the codes already issued in the project (`taken`).

    In rank order, each takes its first candidate that is not taken, not reserved and does not
    echo the name: the result depends on the key, the names and `taken`, not on their order.
    Returns normalised name -> code.
    """
    used = set(RESERVED_CODES) | {code.upper() for code in taken}
    out: dict[str, str] = {}
    for name in sorted({_normal(n) for n in names} - {""}, key=lambda n: _rank(key, n)):
        code = next(c for c in candidate_codes(key, name)
                    if c not in used and not echoes_name(c, name))
        used.add(code)
        out[name] = code
    return out


_LATIN_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def echoes_name(code: str, name: str) -> bool:
    """Would `code` read as derived from `name` (its Latin initials or first letters)?"""
    words = _LATIN_WORD.findall(name)
    if not words:
        return False
    initials = "".join(w[0] for w in words).upper()
    letters = "".join(words).upper()
    return code in (initials[: len(code)], letters[: len(code)])


class Pseudonymiser:
    """Username -> pseudonym for one project (see the module docstring for the guarantees)."""

    def __init__(self, key: bytes, names: Iterable[str] = (), taken: Iterable[str] = ()) -> None:
        """`names`: every username of the project (assigned together, order-free); `taken`:
        codes never to issue, on top of `RESERVED_CODES` (e.g. codes already published)."""
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 random bytes")
        self._key = bytes(key)
        self._used: set[str] = set(RESERVED_CODES) | {code.upper() for code in taken}
        self._codes: dict[str, str] = {}
        registered = {_normal(n) for n in names} - {""}
        for name in sorted(registered, key=lambda n: _rank(self._key, n)):
            self._assign(name)

    def _assign(self, name: str) -> str:
        for code in candidate_codes(self._key, name):
            if code not in self._used and not echoes_name(code, name):
                self._used.add(code)
                self._codes[name] = code
                return code
        raise AssertionError("unreachable: the candidate sequence is endless")

    def pseudonym(self, name: str) -> str:
        """The code for `name`; unregistered names are assigned on first use."""
        name = _normal(name)
        code = self._codes.get(name)
        return code if code is not None else self._assign(name)

    __call__ = pseudonym

    def mapping(self) -> Mapping[str, str]:
        """Name -> code so far. Re-identifying: keep it with the key, never in an export."""
        return dict(self._codes)

    def __len__(self) -> int:
        return len(self._codes)
