"""What every processing step needs, built once per process from a small picklable spec.

`ContextSpec` carries configuration *contents* (not paths), the pseudonym key and the project's
usernames, so that (a) a worker process can rebuild the same stage objects from it, and (b) its
`settings_hash()` covers everything a processed post depends on but the names: a change to the
user dictionary, stop words, anonymisation rules, keyword list or key gives a new hash, and
cached `processed_posts` rows of the old hash are no longer reused. The usernames are left out:
their codes come from the persistent register, and a crawl bringing new authors only redoes the
posts whose text contains one of them (`pipeline.process.register`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from pipeline.anonymise import (
    Detector,
    KnownNames,
    Pseudonymiser,
    compile_known_names,
    default_detector,
)
from pipeline.anonymise.pseudonyms import RESERVED_CODES, candidate_codes, echoes_name
from pipeline.keywords import KeywordFilter, read_keywords_text
from pipeline.language import warm_up as language_warm_up
from pipeline.segment import Segmenter, parse_userdict, parse_word_list, read_config_text

# Bump when the code of a step changes what it produces: cached rows of older code are redone.
PROCESS_VERSION = "process/2"  # 2: the pseudonym register


def sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def key_id(key: bytes) -> str:
    """A public fingerprint of the key (HMAC of a constant): tells keys apart, reveals nothing."""
    return hmac.new(key, b"lurker/key-id/v1", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class ContextSpec:
    key: bytes = field(repr=False)
    names: tuple[str, ...] = field(repr=False)  # every username of the archive, sorted
    keywords_text: str = field(repr=False)
    userdict_text: str = field(repr=False)
    stopwords_zh_text: str = field(repr=False)
    stopwords_en_text: str = field(repr=False)
    anonymise_rules_text: str = field(repr=False)
    to_simplified: bool = False
    jieba_cache_dir: str | None = None

    @classmethod
    def from_files(
        cls,
        key: bytes,
        names: Iterable[str],
        *,
        keywords: str | Path | None = None,
        userdict: str | Path | None = None,
        stopwords_zh: str | Path | None = None,
        stopwords_en: str | Path | None = None,
        to_simplified: bool = False,
        jieba_cache_dir: str | None = None,
    ) -> ContextSpec:
        rules = resources.files("config").joinpath("anonymise.toml").read_text(encoding="utf-8")
        return cls(
            key=key,
            names=tuple(sorted({n.strip() for n in names if n and n.strip()})),
            keywords_text=read_keywords_text(keywords),
            userdict_text=read_config_text("userdict.txt", userdict),
            stopwords_zh_text=read_config_text("stopwords_zh.txt", stopwords_zh),
            stopwords_en_text=read_config_text("stopwords_en.txt", stopwords_en),
            anonymise_rules_text=rules,
            to_simplified=to_simplified,
            jieba_cache_dir=jieba_cache_dir,
        )

    def step_params(self) -> dict[str, dict[str, object]]:
        """Each step's parameters as recorded with the snapshot (hashes, never secrets)."""
        return {
            "normalise": {"to_simplified": self.to_simplified, "html": "lxml"},
            "language": {"method": "script shares, langdetect when in doubt", "seed": 0},
            # Not the usernames: see the module docstring (the register decides the codes).
            "anonymise": {"rules_sha256": sha256(self.anonymise_rules_text),
                          "key_id": key_id(self.key), "pseudonyms": "register"},
            "segment": {"mode": "jieba accurate, HMM", "userdict_sha256": sha256(
                self.userdict_text), "stopwords_sha256": sha256(
                self.stopwords_zh_text + "\x00" + self.stopwords_en_text)},
            "keywords": {"version": self.keyword_filter_version()},
        }

    def keyword_filter_version(self) -> str:
        return KeywordFilter.from_dict(tomllib.loads(self.keywords_text)).version

    def settings_hash(self) -> str:
        payload = {"code": PROCESS_VERSION, "steps": self.step_params()}
        return sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False))


class Pseudonyms:
    """Stand-alone pseudonyms for the step functions run on their own (tests, benchmarks):
    the flow itself takes every code from the store's register (`pipeline.process.register`),
    which keeps codes fixed across runs. Here: registered usernames via `Pseudonymiser`
    (order-free, unique), anything else (an @mention or quote header of someone who never
    posted) deterministically.

    `Pseudonymiser` assigns unregistered names on first use, which depends on the order of
    lookups and so would differ between worker processes. Here an unregistered name gets its
    first 3+-letter candidate code that no registered author holds: the same in every process
    and run, and never an author's code (two such outsiders may rarely share one).
    """

    def __init__(self, key: bytes, names: Iterable[str]) -> None:
        self._key = key
        self._registered = Pseudonymiser(key, names=names)
        self._mapping = dict(self._registered.mapping())
        self._codes = frozenset(self._mapping.values()) | RESERVED_CODES
        self._outsiders: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        name = name.strip()
        code = self._mapping.get(name)
        if code is not None:
            return code
        code = self._outsiders.get(name)
        if code is None:
            candidates = candidate_codes(self._key, name)
            next(candidates)  # the two-letter codes are for authors
            code = next(c for c in candidates
                        if c not in self._codes and not echoes_name(c, name))
            self._outsiders[name] = code
        return code

    def mapping(self) -> dict[str, str]:
        return dict(self._mapping)


class StageContext:
    """The stage objects of one process, built lazily from a `ContextSpec`."""

    def __init__(self, spec: ContextSpec) -> None:
        self.spec = spec

    @cached_property
    def segmenter(self) -> Segmenter:
        import jieba

        # jieba sets its logger to DEBUG when imported: silence its start-up chatter.
        jieba.setLogLevel(logging.WARNING)
        if self.spec.jieba_cache_dir:
            Path(self.spec.jieba_cache_dir).mkdir(parents=True, exist_ok=True)
        stop = parse_word_list(self.spec.stopwords_zh_text)
        stop += parse_word_list(self.spec.stopwords_en_text)
        return Segmenter(parse_userdict(self.spec.userdict_text), stop,
                         cache_dir=self.spec.jieba_cache_dir)

    @cached_property
    def detector(self) -> Detector:
        # The lexicon's cache file next to jieba's (see `load_lexicon`).
        return default_detector(self.spec.jieba_cache_dir)

    @cached_property
    def known_names(self) -> KnownNames:
        return compile_known_names(self.spec.names)

    @cached_property
    def pseudonyms(self) -> Pseudonyms:
        return Pseudonyms(self.spec.key, self.spec.names)

    @cached_property
    def keyword_filter(self) -> KeywordFilter:
        return KeywordFilter.from_dict(tomllib.loads(self.spec.keywords_text))

    def warm_up(self) -> None:
        """Build everything now (at worker start) rather than inside the first batch."""
        self.segmenter.warm_up()
        language_warm_up()
        self.detector.find("预热 13800000000", self.known_names)
        _ = self.pseudonyms, self.keyword_filter
