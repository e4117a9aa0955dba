"""Step 6, snapshot: the thread rule, the run's counts, the KWIC sample and the fingerprint.

Pure: `SnapshotBuilder` is fed the outcomes of every post in thread and floor order, one batch
at a time, and keeps only per-thread counters, totals and the KWIC reservoir, so its memory
grows with the number of threads, not posts. The flow writes what it returns to the store.

The fingerprint is a SHA-256 over the settings hash, the filters and every (post version,
processed post) pair in order: two runs with the same fingerprint have the same content (the
thread rule, counts and KWIC sample are functions of these), so a re-run on an unchanged archive
returns the existing snapshot instead of numbering a copy.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.keywords import KwicLine, KwicSampler
from pipeline.process.store_io import Outcome

KWIC_SAMPLE = 20  # lines per concept
KWIC_SEED = "lurker-kwic/1"


@dataclass(slots=True)  # one per thread of the archive: the builder's only growth
class _ThreadCount:
    first_matched: bool
    matched: int = 0
    posts: int = 0


@dataclass
class SnapshotBuilder:
    settings_hash: str
    params: dict[str, Any]
    min_posts: int
    kwic_k: int = KWIC_SAMPLE
    posts: int = 0
    chars: int = 0
    reused: int = 0
    processed: int = 0
    matched_posts: int = 0
    code_switched: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    replacements: Counter[str] = field(default_factory=Counter)
    concept_posts: Counter[str] = field(default_factory=Counter)
    keyword_posts: Counter[str] = field(default_factory=Counter)
    _threads: dict[int, _ThreadCount] = field(default_factory=dict)
    _hash: Any = field(default=None)
    _kwic: KwicSampler[KwicLine] | None = None

    def __post_init__(self) -> None:
        self._hash = hashlib.sha256()
        head = json.dumps({"settings": self.settings_hash, "params": self.params},
                          sort_keys=True, ensure_ascii=False)
        self._hash.update(head.encode("utf-8"))
        self._kwic = KwicSampler(KWIC_SEED, self.kwic_k)

    def add(self, outcomes: Iterable[Outcome], reused: int = 0) -> list[int]:
        """Count one batch (in thread/floor order); returns its processed-post ids."""
        ids: list[int] = []
        assert self._kwic is not None
        for o in outcomes:
            ids.append(o.processed_id)
            self._hash.update(f"{o.post_version_id}:{o.processed_id};".encode())
            self.posts += 1
            self.chars += o.chars
            self.languages["zh-Hant" if o.lang == "zh" and o.traditional else o.lang] += 1
            self.replacements.update(o.replacements)
            self.code_switched += o.code_switched
            matched = bool(o.hits)
            thread = self._threads.get(o.thread_id)
            if thread is None:  # thread/floor order: the first outcome is the first post
                thread = self._threads[o.thread_id] = _ThreadCount(first_matched=matched)
            thread.posts += 1
            if matched:
                thread.matched += 1
                self.matched_posts += 1
                self.concept_posts.update(o.hits.keys())
                self.keyword_posts.update({kw for kws in o.hits.values() for kw in kws})
                self._kwic.offer_post(o.text, o.hits, ref=o.post_version_id)
        self.reused += reused
        self.processed += len(ids) - reused
        return ids

    def thread_ids(self) -> list[int]:
        return sorted(self._threads)

    def add_subjects(self, subjects: dict[int, int]) -> None:
        """Fingerprint the processed subjects too (an edited subject is another snapshot)."""
        for tid, pid in sorted(subjects.items()):
            self._hash.update(f"t{tid}:{pid};".encode())

    def kept_threads(self) -> list[int]:
        """The thread rule of `pipeline.keywords.keep_thread`, on the per-thread counts:
        keep a thread when its first post matches or at least `min_posts` of its posts do."""
        return sorted(tid for tid, t in self._threads.items()
                      if t.first_matched or t.matched >= self.min_posts)

    def fingerprint(self) -> str:
        return self._hash.copy().hexdigest()

    def kwic(self) -> dict[str, list[dict[str, Any]]]:
        assert self._kwic is not None
        return {
            concept: [{"keyword": line.keyword, "line": line.line, "post_version_id": line.ref}
                      for line in lines]
            for concept, lines in sorted(self._kwic.samples().items())
        }

    def summary(self) -> dict[str, Any]:
        kept = self.kept_threads()
        kept_set = set(kept)
        return {
            "posts_in": self.posts,
            "chars": self.chars,
            "threads_in": len(self._threads),
            "threads_kept": len(kept),
            "posts_kept": sum(self._threads[t].posts for t in kept_set),
            "posts_matched": self.matched_posts,
            "languages": dict(self.languages.most_common()),
            "code_switched_posts": self.code_switched,
            "replacements": dict(sorted(self.replacements.items())),
            "concept_hits": dict(self.concept_posts.most_common()),
            "keyword_hits": dict(self.keyword_posts.most_common()),
            "kwic_seen": {c: self._kwic.seen(c) for c in sorted(self.concept_posts)}
            if self._kwic else {},
        }
