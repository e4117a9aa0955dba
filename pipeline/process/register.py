"""The pseudonym register as the flow sees it (pure: the store edges are in `store_io`).

Codes are issued once and kept forever (`PseudonymEntry`): a re-crawl that brings new authors
must not move the code of anybody already cited. A processed post depends on the names only
through (a) the codes, now fixed, and (b) the set of *known* names the detector looks for in
running text (the archive's authors). So a post processed when the known names were those of
generation g stays valid until a name that became known later (generation > g) occurs in its
text; `NameHistory.stale` finds such posts with one regex over the stored text, and the flow
redoes only those (see `row_hash`: the generation is part of a processed row's settings hash,
so the earlier row, which older snapshots point to, is kept).
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.anonymise.pseudonyms import _normal, issue_codes, name_mac
from pipeline.process.records import PostRecord


def row_hash(settings_hash: str, generation: int) -> str:
    """The settings hash stored with processed rows made when the known names were those of
    `generation` (the snapshot keeps the plain settings hash)."""
    return hashlib.sha256(f"{settings_hash}/names/{generation}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewEntry:
    name_mac: str
    code: str
    generation: int | None


@dataclass
class Register:
    """mac -> (code, generation), as loaded from the store, plus what this run adds."""

    key: bytes = field(repr=False)
    entries: dict[str, tuple[str, int | None]] = field(default_factory=dict, repr=False)

    @property
    def generation(self) -> int:
        return max((g for _, g in self.entries.values() if g is not None), default=0)

    def code(self, name: str) -> str | None:
        entry = self.entries.get(name_mac(self.key, name))
        return entry[0] if entry is not None else None

    def generation_of(self, name: str) -> int | None:
        entry = self.entries.get(name_mac(self.key, name))
        return entry[1] if entry is not None else None

    def issue(self, names: Iterable[str]) -> list[NewEntry]:
        """Codes for the names not registered yet (rank order, first free candidate)."""
        new = {n: name_mac(self.key, n) for n in {_normal(n) for n in names} - {""}}
        new = {n: mac for n, mac in new.items() if mac not in self.entries}
        if not new:
            return []
        taken = {code for code, _ in self.entries.values()}
        out: list[NewEntry] = []
        for name, code in issue_codes(self.key, new, taken).items():
            self.entries[new[name]] = (code, None)
            out.append(NewEntry(new[name], code, None))
        return out

    def learn_authors(self, authors: Iterable[str]) -> tuple[list[NewEntry], list[str], int]:
        """Register the archive's authors: new ones get codes, and every author not known
        before (new, or so far only @mentioned) gets the next generation.

        Returns (new entries, macs of entries to mark, the current generation).
        """
        authors = {_normal(n) for n in authors} - {""}
        fresh = [n for n in authors if self.generation_of(n) is None]
        if not fresh:
            return [], [], self.generation
        generation = self.generation + 1
        issued = {e.name_mac for e in self.issue(fresh)}
        marked: list[str] = []
        new: list[NewEntry] = []
        for name in fresh:
            mac = name_mac(self.key, name)
            code, _ = self.entries[mac]
            self.entries[mac] = (code, generation)
            if mac in issued:
                new.append(NewEntry(mac, code, generation))
            else:
                marked.append(mac)
        return new, marked, generation


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


_TAG = re.compile(r"<[^>]*>")


def searchable_text(record: PostRecord) -> str:
    """Everything of a stored post a known name could be detected in, folded (a superset:
    tags stripped, entities decoded, NFKC and case folded)."""
    parts = [html_lib.unescape(_TAG.sub("", record.html)), record.raw_text]
    for quote in record.raw_quotes:
        parts += (str(quote.get("author") or ""), str(quote.get("text") or ""))
    return _fold("\n".join(parts))


class NameHistory:
    """When each known name became known, and which cached rows a newer name makes stale."""

    def __init__(self, generations: Mapping[str, int]) -> None:
        # One-character names are never matched in running text (only after @ or in quote
        # headers, where their code is the same as before), so they make nothing stale.
        self._by_generation = {name: g for name, g in generations.items() if len(name) >= 2}
        self._patterns: dict[int, re.Pattern[str] | None] = {}

    def _pattern(self, generation: int) -> re.Pattern[str] | None:
        if generation not in self._patterns:
            newer = sorted({_fold(n) for n, g in self._by_generation.items() if g > generation},
                           key=len, reverse=True)
            self._patterns[generation] = (
                re.compile("|".join(map(re.escape, newer))) if newer else None)
        return self._patterns[generation]

    def stale(self, record: PostRecord, generation: int) -> bool:
        """Does a name known only after `generation` occur in this post?"""
        pattern = self._pattern(generation)
        return pattern is not None and pattern.search(searchable_text(record)) is not None
