"""Keyword filter: concept lists from `config/keywords.toml`, matched per post and per thread.

`KeywordFilter.from_toml(path | None)` reads a list (lurker's bundled one by default; the syntax
is documented at the top of `config/keywords.toml`). `match_post(text, tokens)` returns the
concepts a post matches with the keywords that matched; `keep_thread()` applies the thread rule
(first post matches, or at least `min_posts` posts do). `kwic()` and `KwicSampler` give
keyword-in-context lines and a seeded uniform sample of them, streaming in O(k) memory.

Matching is case-insensitive. On the text: a Chinese keyword is a substring (品牌 matches
自主品牌), a Latin one a whole word (brand matches Brand, not brands; brand* matches both), a
phrase ("自主 品牌", "own brand") its words in order with only white space between. On the
tokens (lower-cased, from `Segmenter.tokens`): a token equal to the keyword, or consecutive
tokens equal to the phrase's words. Token matches catch what the raw text hides, e.g. a
Traditional post whose tokens come from its `t2s` form. A keyword written `=升级` matches
tokens only (a whole word, never a piece of a longer one such as 系统升级).

`version` is the SHA-256 of the canonical content (concepts and rules, keywords normalised,
lower-cased, de-duplicated and sorted; labels and comments excluded), so a corpus can record
exactly which list selected it, and any change to the list gives a new version.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import tomllib
import unicodedata
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = [
    "Concept",
    "Keyword",
    "KeywordFilter",
    "KwicLine",
    "KwicSampler",
    "TokenView",
    "keep_thread",
    "kwic",
    "parse_concept",
    "parse_keyword",
    "read_keywords_text",
]

FORMAT = "lurker-keywords/1"
DEFAULT_MIN_POSTS = 2
RULES = ("any", "all", "not")
_CONCEPT_KEYS = frozenset({*RULES, "label"})
_TOKEN_SEP = "\x1f"  # joins tokens for phrase lookup; never inside a token

_LATIN_EDGE = re.compile(r"[a-z0-9]")
_LATIN_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_SPACES = re.compile(r"\s+")


# --- keywords ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keyword:
    """One keyword as written in the list, compiled for matching."""

    source: str  # canonical spelling (lower case, single spaces), as reported in hits
    parts: tuple[str, ...]  # words of a phrase; one part for a single keyword
    token_only: bool = False  # written =word: match whole tokens only
    prefix: bool = False  # written word*: the last part is a prefix
    pattern: re.Pattern[str] | None = field(default=None, compare=False)  # None: substring
    probe: str = ""  # a literal the lower-cased text must contain for any text match

    def in_text(self, lowered: str) -> bool:
        if self.token_only or self.probe not in lowered:
            return False
        return self.pattern is None or self.pattern.search(lowered) is not None

    def in_tokens(self, tokens: TokenView) -> bool:
        if len(self.parts) == 1:
            word = self.parts[0]
            if self.prefix:
                return any(token.startswith(word) for token in tokens.latin)
            return word in tokens.unique
        if self.prefix:
            return tokens.has_phrase_prefix(self.parts)
        return tokens.has_phrase(self.parts)

    def span(self, text: str) -> tuple[int, int] | None:
        """Where the keyword first occurs in `text` (case-insensitive), for KWIC lines."""
        match = _span_pattern(self.source, self.pattern, self.parts[0]).search(text)
        return match.span() if match else None


@lru_cache(maxsize=4096)
def _span_pattern(source: str, pattern: re.Pattern[str] | None, first: str) -> re.Pattern[str]:
    """The case-insensitive search of `Keyword.span`, compiled once per keyword (KWIC asks
    for it on every hit)."""
    return re.compile(pattern.pattern if pattern else re.escape(first), re.IGNORECASE)


def _canonical(raw: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", raw)).strip().lower()


def _is_latin_edge(char: str) -> bool:
    return _LATIN_EDGE.match(char) is not None


@lru_cache(maxsize=4096)
def parse_keyword(raw: str) -> Keyword:
    """Compile one keyword: `word`, `word*`, `two words`, `=word` (see keywords.toml)."""
    source = _canonical(raw)
    body = source.removeprefix("=").strip()
    token_only = source.startswith("=")
    prefix = body.endswith("*")
    body = body.removesuffix("*").rstrip()
    parts = tuple(body.split(" "))
    if not body or any("*" in part for part in parts):
        raise ValueError(f"keyword {raw!r}: empty, or '*' not at the end")
    if prefix and not (_is_latin_edge(parts[-1][0]) and _is_latin_edge(body[-1])):
        raise ValueError(f"keyword {raw!r}: '*' (prefix) is for Latin words only")
    pattern = _text_pattern(parts, prefix)
    probe = max(parts, key=len)
    return Keyword(source, parts, token_only, prefix, pattern, probe)


def _text_pattern(parts: tuple[str, ...], prefix: bool) -> re.Pattern[str] | None:
    """Regex over lower-cased text; None when a plain substring test is exact (Chinese word)."""
    first, last = parts[0], parts[-1]
    if len(parts) == 1 and not _is_latin_edge(first[0]) and not _is_latin_edge(last[-1]):
        return None
    pieces = [re.escape(parts[0])]
    for before, after in zip(parts, parts[1:], strict=False):
        # Latin words need a space between them; Chinese words usually have none.
        gap = r"\s+" if _is_latin_edge(before[-1]) and _is_latin_edge(after[0]) else r"\s*"
        pieces += [gap, re.escape(after)]
    body = "".join(pieces)
    if _is_latin_edge(first[0]):
        body = r"(?<![a-z0-9])" + body
    if _is_latin_edge(last[-1]) and not prefix:
        body += r"(?![a-z0-9])"
    return re.compile(body)


class TokenView:
    """A post's tokens prepared once for many keyword look-ups."""

    __slots__ = ("_joined", "_latin", "_unique", "tokens")

    def __init__(self, tokens: Iterable[str]) -> None:
        tokens = list(tokens)
        joined = _TOKEN_SEP.join(tokens)
        self._joined: str | None = None
        if joined.lower() == joined:
            # Segmenter tokens are lower-cased already: one C-level test instead of lowering
            # each token. No character changes under lower() here, so no token would either.
            self.tokens = tokens
            if tokens:
                self._joined = _TOKEN_SEP + joined + _TOKEN_SEP
        else:
            self.tokens = [token.lower() for token in tokens]
        self._unique: frozenset[str] | None = None
        self._latin: list[str] | None = None

    @property
    def unique(self) -> frozenset[str]:
        """The distinct tokens (built on first use: one-word keywords need no set of them)."""
        if self._unique is None:
            self._unique = frozenset(self.tokens)
        return self._unique

    @property
    def joined(self) -> str:
        """All tokens between separators, for phrase look-up as a substring."""
        if self._joined is None:
            self._joined = _TOKEN_SEP + _TOKEN_SEP.join(self.tokens) + _TOKEN_SEP
        return self._joined

    @property
    def latin(self) -> list[str]:
        """Distinct tokens starting with a Latin letter or digit (prefix keywords look here)."""
        if self._latin is None:
            self._latin = [token for token in self.unique if token[:1] in _LATIN_FIRST]
        return self._latin

    def has_phrase(self, parts: Sequence[str]) -> bool:
        if not all(part in self.unique for part in parts):
            return False
        return _TOKEN_SEP + _TOKEN_SEP.join(parts) + _TOKEN_SEP in self.joined

    def has_phrase_prefix(self, parts: Sequence[str]) -> bool:
        return _TOKEN_SEP + _TOKEN_SEP.join(parts) in self.joined


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation of `words`, factored as a trie, longest match first.

    `re` then tests one branch per character instead of one per word, and a match at a
    position is the longest of the words starting there (the greedy "?" tries longer first).
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return "(?:" + body + ")?"
        return body

    return build(root)


# --- concepts and the filter ------------------------------------------------------------------

Groups = tuple[tuple[Keyword, ...], ...]


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept matches when one `any` group matches (or `any` is empty), every `all` group
    matches, and no `not` group matches. A group is one keyword or alternatives `a|b|c`."""

    name: str
    any: Groups = ()
    all: Groups = ()
    not_: Groups = ()
    label: str = ""

    def keywords(self) -> Iterator[Keyword]:
        for groups in (self.any, self.all, self.not_):
            for group in groups:
                yield from group

    def evaluate(self, hit: Set[str]) -> list[str]:
        """Keywords that matched (from `any` and `all`), or [] when the rule is not met.

        `hit` holds the `source` of every keyword found in the post.
        """
        hits = [kw.source for group in self.any for kw in group if kw.source in hit]
        if self.any and not hits:
            return []
        for group in self.all:
            group_hits = [kw.source for kw in group if kw.source in hit]
            if not group_hits:
                return []
            hits += group_hits
        if any(kw.source in hit for group in self.not_ for kw in group):
            return []
        return list(dict.fromkeys(hits))

    def canonical(self) -> dict[str, list[str]]:
        def flat(groups: Groups) -> list[str]:
            return sorted({"|".join(sorted({kw.source for kw in group})) for group in groups})

        return {"any": flat(self.any), "all": flat(self.all), "not": flat(self.not_)}


class _Index:
    """Finds the keywords present in a post without trying every keyword on it.

    Text side: one trie regex of every keyword's probe is searched again from each match's
    start + 1, so it stops at every position where a probe starts, with the longest probe
    there; the probes that are prefixes of it start there too. A probe's presence is a plain
    keyword's hit; a patterned (Latin, phrase) keyword then also needs its pattern. Token side:
    one-word keywords are a set intersection with the post's distinct tokens, phrases are
    tried only when their first word is a token, and prefix keywords (brand*) are one regex
    over the joined tokens. Per post that is a few C-level scans, not a Python loop over the
    keywords.
    """

    def __init__(self, keywords: Iterable[Keyword]) -> None:
        unique = list({kw.source: kw for kw in keywords}.values())
        on_text = [kw for kw in unique if not kw.token_only]
        probes = sorted({kw.probe for kw in on_text})
        # For the longest probe matched at a position: the plain keywords it proves present
        # and the patterned keywords still to test (of every probe that is a prefix of it).
        self.text_plain: dict[str, frozenset[str]] = {}
        self.text_patterned: dict[str, tuple[Keyword, ...]] = {}
        for probe in probes:
            starts = [kw for kw in on_text if probe.startswith(kw.probe)]
            self.text_plain[probe] = frozenset(kw.source for kw in starts if kw.pattern is None)
            patterned = tuple(kw for kw in starts if kw.pattern is not None)
            if patterned:
                self.text_patterned[probe] = patterned
        # Two regexes, Latin-initial and other probes: each has a smaller set of first
        # characters for `re` to skip to; the pair scans in ~60% of the time of one.
        self.probe_searches = tuple(
            re.compile(_trie_pattern(group)).search
            for group in ([p for p in probes if p[0].isascii()],
                          [p for p in probes if not p[0].isascii()])
            if group
        )
        self.single: dict[str, set[str]] = {}  # token -> one-word keywords equal to it
        self.phrases: dict[str, list[Keyword]] = {}  # first word -> phrase keywords
        self.prefix_words: dict[str, set[str]] = {}  # brand -> {brand*}
        prefix_words = self.prefix_words
        for kw in unique:
            if len(kw.parts) > 1:
                self.phrases.setdefault(kw.parts[0], []).append(kw)
            elif kw.prefix:
                prefix_words.setdefault(kw.parts[0], set()).add(kw.source)
            else:
                self.single.setdefault(kw.parts[0], set()).add(kw.source)
        # One-word keywords and the first words of phrases: one intersection with the tokens.
        self.first_words = frozenset(self.single) | frozenset(self.phrases)
        # A token starting with the longest prefix word matched proves every prefix word
        # that is a prefix of that one.
        self.prefix_closure = {
            word: frozenset().union(*(v for w, v in prefix_words.items() if word.startswith(w)))
            for word in prefix_words
        }
        self.prefix_findall = (
            re.compile(re.escape(_TOKEN_SEP) + "(" + _trie_pattern(prefix_words) + ")").findall
            if prefix_words else None
        )

    def found(self, lowered: str, tokens: TokenView) -> set[str]:
        hit: set[str] = set()
        patterned: list[tuple[Keyword, ...]] = []
        text_plain, text_patterned = self.text_plain, self.text_patterned
        for search in self.probe_searches:
            m = search(lowered)
            while m is not None:
                probe = m.group()
                hit |= text_plain[probe]
                if probe in text_patterned:
                    patterned.append(text_patterned[probe])
                m = search(lowered, m.start() + 1)
        for group in patterned:
            for kw in group:
                if (kw.source not in hit and kw.pattern is not None
                        and kw.pattern.search(lowered) is not None):
                    hit.add(kw.source)
        single, phrases = self.single, self.phrases
        for word in self.first_words.intersection(tokens.tokens):
            if word in single:
                hit |= single[word]
            for kw in phrases.get(word, ()):
                if kw.source not in hit and kw.in_tokens(tokens):
                    hit.add(kw.source)
        if self.prefix_findall is not None and tokens.tokens:
            joined = tokens.joined
            if joined.count(_TOKEN_SEP) == len(tokens.tokens) + 1:
                for word in self.prefix_findall(joined):
                    hit |= self.prefix_closure[word]
            else:  # a token holding the separator itself: test the tokens one by one
                for word, sources in self.prefix_words.items():
                    if any(token.startswith(word) for token in tokens.latin):
                        hit |= sources
        return hit


_MATCHED_CACHE = 4096  # distinct hit sets remembered by a `KeywordFilter`
_Plan = tuple[str, frozenset[str], frozenset[str] | None, tuple[frozenset[str], ...],
              frozenset[str], dict[str, int]]


def _plan(concept: Concept) -> _Plan:
    """A concept's rule as sets, for `KeywordFilter.match_post`.

    (name, positive, any, all, not, rank): `positive` holds the sources that can make it match
    (`not` cannot); `any` is None when the concept has no `any` groups; `rank` orders the
    matched keywords as `Concept.evaluate` lists them (first occurrence in `any`, then `all`).
    """
    order = [kw.source for groups in (concept.any, concept.all) for group in groups
             for kw in group]
    rank = {source: i for i, source in reversed(list(enumerate(order)))}
    any_of = frozenset(kw.source for group in concept.any for kw in group) if concept.any else None
    all_of = tuple(frozenset(kw.source for kw in group) for group in concept.all)
    none_of = frozenset(kw.source for group in concept.not_ for kw in group)
    return concept.name, frozenset(order), any_of, all_of, none_of, rank


def _parse_groups(values: Any, where: str) -> Groups:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where}: expected a list of strings")
    try:
        return tuple(
            tuple(parse_keyword(alt) for alt in value.split("|")) for value in values
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def parse_concept(name: str, table: Mapping[str, Any]) -> Concept:
    unknown = sorted(set(table) - _CONCEPT_KEYS)
    if unknown:
        raise ValueError(f"concept {name!r}: unknown key(s) {', '.join(unknown)}")
    groups = {rule: _parse_groups(table.get(rule, []), f"{name}.{rule}") for rule in RULES}
    if not groups["any"] and not groups["all"]:
        raise ValueError(f"concept {name!r}: needs keywords in 'any' or 'all'")
    return Concept(name, groups["any"], groups["all"], groups["not"], str(table.get("label", "")))


def keep_thread(
    first_post_hits: Mapping[str, Sequence[str]],
    per_post_hits: Iterable[Mapping[str, Sequence[str]]],
    min_posts: int = DEFAULT_MIN_POSTS,
    concepts: Collection[str] | None = None,
) -> bool:
    """Keep a thread when its first post matches, or at least `min_posts` of its posts do.

    `per_post_hits` covers every post of the thread (the first post included), as returned by
    `match_post`, and is read only as far as needed; `concepts` restricts the rule to some
    concepts (default: any concept).
    """

    def matches(hits: Mapping[str, Sequence[str]]) -> bool:
        return any(hits[c] for c in hits if concepts is None or c in concepts)

    if matches(first_post_hits):
        return True
    count = 0
    for hits in per_post_hits:
        count += matches(hits)
        if count >= min_posts:
            return True
    return False


class KeywordFilter:
    """A keyword list: concepts, the thread rule's `min_posts`, and the list's `version`."""

    def __init__(self, concepts: Iterable[Concept], min_posts: int = DEFAULT_MIN_POSTS) -> None:
        self.concepts = tuple(concepts)
        self.min_posts = min_posts
        self.version = _version(self.concepts, min_posts)
        self._index = _Index(kw for concept in self.concepts for kw in concept.keywords())
        self._plans = [_plan(c) for c in self.concepts]
        # The concepts matched by a set of hits, by set: posts share a few hit sets (价格,
        # 价格+质量 ...), and the rules are then evaluated once per set, not once per post.
        self._matched: dict[frozenset[str], dict[str, list[str]]] = {}

    def __repr__(self) -> str:
        return f"KeywordFilter({len(self.concepts)} concepts, version={self.version[:12]})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeywordFilter:
        """Build from the parsed TOML table (pure: no file access)."""
        unknown = sorted(set(data) - {"thread", "concepts"})
        if unknown:
            raise ValueError(f"keyword list: unknown table(s) {', '.join(unknown)}")
        thread = data.get("thread", {})
        min_posts = thread.get("min_posts", DEFAULT_MIN_POSTS)
        if not isinstance(min_posts, int) or isinstance(min_posts, bool) or min_posts < 1:
            raise ValueError("keyword list: thread.min_posts must be a positive integer")
        tables = data.get("concepts", {})
        if not tables:
            raise ValueError("keyword list: no [concepts.<name>] tables")
        return cls((parse_concept(name, table) for name, table in tables.items()), min_posts)

    @classmethod
    def from_toml(cls, path: str | Path | None = None) -> KeywordFilter:
        """Read a project's keyword list, or lurker's bundled `config/keywords.toml`."""
        return cls.from_dict(tomllib.loads(read_keywords_text(path)))

    @property
    def names(self) -> list[str]:
        return [concept.name for concept in self.concepts]

    def concept(self, name: str) -> Concept:
        for concept in self.concepts:
            if concept.name == name:
                return concept
        raise KeyError(name)

    def match_post(self, text: str, tokens: Iterable[str] = ()) -> dict[str, list[str]]:
        """{concept: [matched keywords]} for the concepts this post matches."""
        hit = self._index.found(text.lower(), TokenView(tokens))
        if not hit:
            return {}
        key = frozenset(hit)
        matched = self._matched.get(key)
        if matched is None:
            if len(self._matched) >= _MATCHED_CACHE:
                self._matched.clear()
            matched = self._matched[key] = self._evaluate(hit)
        # Fresh lists: callers own what they get.
        return {concept: list(keywords) for concept, keywords in matched.items()}

    def _evaluate(self, hit: Set[str]) -> dict[str, list[str]]:
        matched: dict[str, list[str]] = {}
        # `Concept.evaluate` on sets: the same rule and the same order, without a Python loop
        # over each concept's keywords.
        for name, positive, any_of, all_of, none_of, rank in self._plans:
            if positive.isdisjoint(hit):
                continue
            if any_of is not None and any_of.isdisjoint(hit):
                continue
            if not none_of.isdisjoint(hit) or any(g.isdisjoint(hit) for g in all_of):
                continue
            matched[name] = sorted(positive.intersection(hit), key=rank.__getitem__)
        return matched

    def keep_thread(
        self,
        first_post_hits: Mapping[str, Sequence[str]],
        per_post_hits: Iterable[Mapping[str, Sequence[str]]],
        concepts: Collection[str] | None = None,
    ) -> bool:
        """`keep_thread` with this list's `min_posts`."""
        return keep_thread(first_post_hits, per_post_hits, self.min_posts, concepts)


def read_keywords_text(path: str | Path | None = None) -> str:
    """A project's keyword list at `path`, or lurker's bundled `config/keywords.toml`."""
    if path is None:
        return resources.files("config").joinpath("keywords.toml").read_text(encoding="utf-8")
    return Path(path).read_text(encoding="utf-8")


def _version(concepts: Iterable[Concept], min_posts: int) -> str:
    content = {
        "format": FORMAT,
        "min_posts": min_posts,
        "concepts": {c.name: c.canonical() for c in concepts},
    }
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- keyword in context -----------------------------------------------------------------------


def kwic(text: str, keyword: str | Keyword, width: int = 20) -> str:
    """`left【keyword】right` around the keyword's first occurrence in `text`, "" if absent.

    Up to `width` characters each side, line breaks shown as spaces, `…` where cut.
    """
    kw = keyword if isinstance(keyword, Keyword) else parse_keyword(keyword)
    span = kw.span(text)
    return "" if span is None else _kwic_line(text, span, width)


def _kwic_line(text: str, span: tuple[int, int], width: int) -> str:
    start, end = span
    left_from, right_to = max(0, start - width), min(len(text), end + width)
    left = ("…" if left_from else "") + text[left_from:start]
    right = text[end:right_to] + ("…" if right_to < len(text) else "")
    return _one_line(left) + "【" + _one_line(text[start:end]) + "】" + _one_line(right)


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text)


@dataclass(frozen=True, slots=True)
class KwicLine:
    concept: str
    keyword: str
    line: str
    ref: Hashable = None  # e.g. the post id, for going back to the source


T = TypeVar("T")


class KwicSampler(Generic[T]):
    """A uniform random sample of at most `k` items per concept from a stream (Algorithm R).

    Each concept has its own generator, seeded from (`seed`, concept name) with SHA-256 (not
    `hash()`, which changes per process): the sample for a concept depends only on the seed
    and on that concept's own stream, not on other concepts or on the process.
    """

    def __init__(self, seed: int | str, k: int) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.seed, self.k = seed, k
        self._seen: dict[str, int] = {}
        self._samples: dict[str, list[T]] = {}
        self._rngs: dict[str, random.Random] = {}

    def _rng(self, concept: str) -> random.Random:
        rng = self._rngs.get(concept)
        if rng is None:
            digest = hashlib.sha256(f"{self.seed}\x1f{concept}".encode()).digest()
            rng = self._rngs[concept] = random.Random(int.from_bytes(digest[:8], "big"))
        return rng

    def _slot(self, concept: str) -> int | None:
        """Count one more item of `concept`: the index it takes in the sample, or None."""
        seen = self._seen.get(concept, 0) + 1
        self._seen[concept] = seen
        if seen <= self.k:
            return seen - 1
        slot = self._rng(concept).randrange(seen)
        return slot if slot < self.k else None

    def _place(self, concept: str, index: int, item: T) -> None:
        sample = self._samples.setdefault(concept, [])
        if index == len(sample):
            sample.append(item)
        else:
            sample[index] = item

    def offer(self, concept: str, item: T) -> None:
        index = self._slot(concept)
        if index is not None:
            self._place(concept, index, item)

    def offer_post(
        self, text: str, hits: Mapping[str, Sequence[str]], ref: Hashable = None,
        width: int = 20,
    ) -> None:
        """Offer one KWIC line per (concept, keyword) hit of a post (token-only hits that
        do not occur in the text give no line)."""
        for concept, keywords in hits.items():
            for keyword in keywords:
                span = parse_keyword(keyword).span(text)
                if span is None:
                    continue
                # The line is only built for an item the reservoir takes (most are not).
                index = self._slot(concept)
                if index is not None:
                    line = _kwic_line(text, span, width)
                    self._place(concept, index, KwicLine(concept, keyword, line, ref))

    def seen(self, concept: str) -> int:
        return self._seen.get(concept, 0)

    def samples(self) -> dict[str, list[T]]:
        """The current sample per concept (in reservoir order)."""
        return {concept: list(items) for concept, items in self._samples.items()}
