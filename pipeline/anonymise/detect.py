"""Find personal details in forum text: by format, checksum and context, never by value.

`find_pii(text, known_names)` returns non-overlapping `Span`s, one per detail:

- formats that identify themselves: mobiles (1[3-9]x, optional +86/0086/86- and separators),
  landlines (area code 0xx/0xxx + 7-8 digits), emails, URLs and shop domains;
- checksummed numbers: 18-character ID numbers (GB 11643 checksum and a real birth date) and
  bank cards (16-19 digits passing Luhn, not after an order/waybill cue);
- handles that are only numbers or words without context: QQ numbers and WeChat ids, flagged
  only after a cue (QQ：, 扣扣, 微信, vx, V信 ...);
- people's names: a surname after a cue (联系人：王伟, 找李强) or before a title (陈总, 王经理);
  candidates that are ordinary dictionary words (宁波, 黄金, 方法) are dropped using jieba's
  lexicon, because surname characters are also everyday characters;
- usernames: the forum's known author names, @mentions and the names in quote headers.

Everything is compiled once per `Rules` (from `config/anonymise.toml`); a call runs one regex
pass per pattern family. Prefilters skip a pattern on text that cannot hold a match: each
tests something every match contains (four digits in a row for the numbers, a cue's first
character, "://", a title after a surname ...), so they change the cost, never the spans;
`Detector(prefilter=False)` runs every pattern, and the tests hold both to the same output.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import tempfile
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import islice, product
from pathlib import Path
from typing import Any

from pipeline.demoforum.pii import is_valid_idcard, luhn_valid

__all__ = [
    "PII_TYPES",
    "USERNAME",
    "Detector",
    "KnownNames",
    "Lexicon",
    "Rules",
    "Span",
    "default_detector",
    "find_pii",
    "compile_known_names",
    "load_lexicon",
    "load_rules",
    "resolve_overlaps",
    "rules_from_table",
    "trie_pattern",
]

USERNAME = "username"
PII_TYPES = ("mobile", "landline", "email", "qq", "wechat", "idcard", "bankcard", "url", "name")

# When two candidates cover exactly the same characters, the more specific reading wins: a
# known username over a guessed name, a checksummed ID over a Luhn-valid card, a number after
# a WeChat/QQ cue over the bare mobile format.
_PRIORITY = {kind: rank for rank, kind in enumerate(
    (USERNAME, "idcard", "bankcard", "wechat", "qq", "email", "url", "mobile", "landline", "name")
)}


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    type: str
    value: str


# --- rules (config/anonymise.toml) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rules:
    placeholders: Mapping[str, str]
    qq_cues: tuple[str, ...]
    qq_strict_cues: tuple[str, ...]
    wechat_cues: tuple[str, ...]
    wechat_strict_cues: tuple[str, ...]
    strong_name_cues: tuple[str, ...]
    weak_name_cues: tuple[str, ...]
    weak_followers: str
    name_fillers: tuple[str, ...]
    surnames: str
    compound_surnames: tuple[str, ...]
    titles: tuple[str, ...]
    title_blockers: Mapping[str, str]
    blocked_before: str
    stop_chars: str
    tlds: tuple[str, ...]
    platform_hosts: frozenset[str]
    not_card_cues: tuple[str, ...]


def _chars(text: str) -> str:
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace()))


def rules_from_table(table: Mapping[str, Any]) -> Rules:
    """Build `Rules` from the parsed TOML (pure: tests pass their own tables)."""
    names = table["names"]
    return Rules(
        placeholders=dict(table["placeholders"]),
        qq_cues=tuple(table["qq"]["cues"]),
        qq_strict_cues=tuple(table["qq"]["strict_cues"]),
        wechat_cues=tuple(table["wechat"]["cues"]),
        wechat_strict_cues=tuple(table["wechat"]["strict_cues"]),
        strong_name_cues=tuple(names["strong_cues"]),
        weak_name_cues=tuple(names["weak_cues"]),
        weak_followers=_chars(names["weak_followers"]),
        name_fillers=tuple(names["fillers"]),
        surnames=_chars(names["surnames"]),
        compound_surnames=tuple(names["compound_surnames"]),
        titles=tuple(names["titles"]),
        title_blockers=dict(names["title_blockers"]),
        blocked_before=_chars(names["blocked_before"]),
        stop_chars=_chars(names["stop_chars"]),
        tlds=tuple(table["urls"]["tlds"]),
        platform_hosts=frozenset(h.lower() for h in table["urls"]["platform_hosts"]),
        not_card_cues=tuple(table["bankcard"]["not_card_cues"]),
    )


@cache
def load_rules() -> Rules:
    """The shipped rules (`config/anonymise.toml`), read once per process."""
    text = resources.files("config").joinpath("anonymise.toml").read_text(encoding="utf-8")
    return rules_from_table(tomllib.loads(text))


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What the name rules need from jieba's dictionary.

    `entries`: word -> (frequency, part-of-speech tag) for the 2-3 character words that touch a
    surname character (~1/5 of the dictionary), to tell 宁波/黄金/马上 from 王伟. `bigrams`:
    every common two-character word, to see whether a name candidate's last character really
    starts the next word (宁波慈|溪, 黄金价|格).
    """

    entries: Mapping[str, tuple[int, str]]
    bigrams: frozenset[str]


EMPTY_LEXICON = Lexicon({}, frozenset())
# jieba's frequencies: below this a "word" is mostly a name or noise it once saw (黄洋 3 ns,
# 马建国 3 ns), so a name candidate is only discarded as a word from this count up.
_COMMON_WORD = 20


def parse_lexicon(lines: Iterable[str], surnames: str) -> Lexicon:
    keep = set(surnames)
    entries: dict[str, tuple[int, str]] = {}
    bigrams: set[str] = set()
    for line in lines:
        parts = line.split()
        if len(parts) != 3 or not 2 <= len(parts[0]) <= 3:
            continue
        word, freq, tag = parts[0], int(parts[1]), parts[2]
        if word[0] in keep or word[1] in keep:
            entries[word] = (freq, tag)
        if len(word) == 2 and freq >= 5:
            bigrams.add(word)
    return Lexicon(entries, frozenset(bigrams))


@cache
def load_lexicon(cache_dir: str | None = None) -> Lexicon:
    """jieba's dictionary, reduced to what the name rules need (once per process).

    Parsing dict.txt costs ~0.5-1 s in every process of every run. With `cache_dir` (the
    workspace's, where jieba keeps its own cache) the result is kept in a file keyed by a
    hash of dict.txt, the surnames and the cache format, which loads in a fraction of that;
    a missing, foreign or damaged file is ignored and the dictionary parsed again.
    """
    rules = load_rules()
    surnames = _with_traditional(rules.surnames) + "".join(rules.compound_surnames)
    data = resources.files("jieba").joinpath("dict.txt").read_bytes()
    if cache_dir is None:
        return _parse_dict(data, surnames)
    path = lexicon_cache_path(cache_dir, data, surnames)
    lexicon = _read_lexicon_cache(path)
    if lexicon is None:
        lexicon = _parse_dict(data, surnames)
        _write_lexicon_cache(path, lexicon)
    return lexicon


def _parse_dict(data: bytes, surnames: str) -> Lexicon:
    return parse_lexicon(data.decode("utf-8").splitlines(), surnames)


# Bump when `parse_lexicon` keeps something else: older cache files are then never read.
LEXICON_CACHE_FORMAT = b"lurker-lexicon/1"


def lexicon_cache_path(cache_dir: str | os.PathLike[str], dict_data: bytes,
                       surnames: str) -> Path:
    key = hashlib.sha256(b"\0".join((LEXICON_CACHE_FORMAT, surnames.encode("utf-8"),
                                      dict_data))).hexdigest()
    return Path(cache_dir) / f"lurker-lexicon-{key[:24]}.cache"


def _read_lexicon_cache(path: Path) -> Lexicon | None:
    """The cached lexicon, or None unless the file is ours, private, intact and well-formed
    (the name rules depend on it: a planted or damaged file must not weaken detection)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                return None
            blob = f.read()
    except OSError:
        return None
    magic, _, rest = blob.partition(b"\n")
    digest, _, payload = rest.partition(b"\n")
    if magic != LEXICON_CACHE_FORMAT or digest != hashlib.sha256(payload).hexdigest().encode():
        return None
    try:
        entries, bigrams = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(entries, dict) or not isinstance(bigrams, frozenset):
        return None
    return Lexicon(entries, bigrams)


def _write_lexicon_cache(path: Path, lexicon: Lexicon) -> None:
    """Write the cache atomically (a temporary file renamed over it), readable by the owner
    only; a failure only means the next process parses dict.txt again."""
    # marshal, as jieba's own cache: plain data only, no code runs when it is loaded.
    payload = marshal.dumps((dict(lexicon.entries), lexicon.bigrams))
    blob = b"\n".join((LEXICON_CACHE_FORMAT, hashlib.sha256(payload).hexdigest().encode(),
                       payload))
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
        tmp = None
        for old in path.parent.glob("lurker-lexicon-*.cache"):  # another dict.txt or format
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _with_traditional(chars: str) -> str:
    """`chars` plus their Traditional forms: Hong Kong and Taiwan posters use the same cues."""
    from pipeline.normalise import simplified_table

    table = simplified_table()
    extra = "".join(v for ch in chars for v in table.get(ch, ()))
    return _chars(chars + extra)


def _word_variants(words: Iterable[str], limit: int = 8) -> list[str]:
    """Each word plus its Traditional spellings (聯繫人, 聯係人), at most `limit` per word."""
    from pipeline.normalise import simplified_table

    table = simplified_table()
    out: dict[str, None] = {}
    for word in words:
        options = [(ch, *table.get(ch, ())) for ch in word]
        for spelling in islice(product(*options), limit):
            out["".join(spelling)] = None
    return list(out)


def _to_simplified(text: str) -> str:
    from pipeline.normalise import t2s

    return t2s(text)


# Full-width ASCII (１３８…, ＠, ：) folded 1:1, so offsets in the folded text are offsets in
# the original: detection sees one spelling, replacement cuts the original string.
_FOLD = {code: chr(code - 0xFEE0) for code in range(0xFF10, 0xFF5F)}
_FOLD[0x3000] = " "
_FOLD_CHARS = re.compile("[\u3000\uff10-\uff5e]")


def _fold(text: str) -> str:
    """`text.translate(_FOLD)`, faster: Chinese text mostly holds none or a few of these
    characters (：？；), and a scan plus a `replace` per distinct one beats `translate`'s
    per-character mapping (~10× on forum posts)."""
    chars = set(_FOLD_CHARS.findall(text))
    if len(chars) > 8:
        return text.translate(_FOLD)
    for ch in chars:
        text = text.replace(ch, _FOLD[ord(ch)])
    return text


# --- known usernames -------------------------------------------------------------------------


def trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation of `words`, factored as a trie, longest match first.

    A flat `a|b|c` of hundreds of names is tried name by name at every position; the trie is
    tried character by character, so matching cost does not grow with the number of names.
    """
    root: dict[str, dict[str, Any]] = {}
    for word in words:
        if not word:
            continue
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict[str, Any]]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here; longer words are tried first (greedy "?")
            return ("(?:" + body + ")?") if len(branches) > 1 or len(body) > 1 else body + "?"
        return body

    return build(root)


def _matches(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """`list(pattern.finditer(text))` for a pattern that never matches the empty string.

    Most texts hold no match, and one `search` costs less than making and running an
    iterator: this is called about ten times per text.
    """
    m = pattern.search(text)
    if m is None:
        return []
    found = [m]
    while (m := pattern.search(text, m.end())) is not None:
        found.append(m)
    return found


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


@dataclass(frozen=True, slots=True)
class KnownNames:
    """A compiled matcher for the forum's usernames (build once with `compile_known_names`)."""

    names: frozenset[str]
    canonical: Mapping[str, str]  # width-folded spelling -> the username as registered
    pattern: re.Pattern[str] | None
    # A name's second character after one of the first characters: a cheap necessary
    # condition (one class and one look-behind per position, where the trie tests a branch
    # per first character), so the trie runs on about half the texts only.
    gate: re.Pattern[str] | None = None

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, username) of each known name in width-folded `text`."""
        return iter(self.find_all(text))

    def find_all(self, text: str) -> list[tuple[int, int, str]]:
        """`finditer` as a list (no generator per text: most texts hold no name)."""
        if self.pattern is None or (self.gate is not None and self.gate.search(text) is None):
            return []
        found = []
        for m in _matches(self.pattern, text):
            start, end = m.span()
            # Latin names only count as whole words: "leo" is not a username inside "Leonard".
            if _is_word_char(text[start]) and start > 0 and _is_word_char(text[start - 1]):
                continue
            if _is_word_char(text[end - 1]) and end < len(text) and _is_word_char(text[end]):
                continue
            found.append((start, end, self.canonical[m.group()]))
        return found

    def match_at(self, text: str, pos: int) -> int | None:
        """End of the longest known name starting at `pos`, if any."""
        if self.pattern is None:
            return None
        m = self.pattern.match(text, pos)
        return m.end() if m else None


@lru_cache(maxsize=8)
def _known_names_cached(names: frozenset[str]) -> KnownNames:
    # A one-character username (王, A) would replace that character everywhere; those are
    # only recognised after @ or in quote headers.
    canonical = {name.translate(_FOLD): name for name in sorted(names) if len(name) >= 2}
    pattern = trie_pattern(canonical)
    if not pattern:
        return KnownNames(names, canonical, None)
    gate = (f"[{_char_class(_chars(''.join(n[1] for n in canonical)))}]"
            f"(?<=[{_char_class(_chars(''.join(n[0] for n in canonical)))}].)")
    return KnownNames(names, canonical, re.compile(pattern), re.compile(gate))


def compile_known_names(names: Iterable[str] | KnownNames) -> KnownNames:
    """A `KnownNames` matcher for `names` (memoised for the last few name sets)."""
    if isinstance(names, KnownNames):
        return names
    return _known_names_cached(frozenset(n for n in (s.strip() for s in names) if n))


def _literal_trie(words: Mapping[str, str]) -> str:
    """A longest-first alternation of literal words, each followed by its own suffix regex
    (a look-ahead), factored as a trie.

    The same matches as the flat `w1suffix1|w2suffix2|...` sorted longest first: two words
    that both match at a position are prefixes of one another, and the trie too tries the
    longer first. `re` tests one branch per character at each node instead of every word.
    """
    root: dict[str | None, Any] = {}
    for word, suffix in words.items():
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[None] = suffix

    def build(node: dict[str | None, Any]) -> str:
        branches = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        if None in node:
            branches.append(node[None])  # the word ending here, after the longer ones
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return build(root)  # a single branch or a group: safe to concatenate


def _alternation(words: Iterable[str]) -> str:
    """Longest-first alternation; Latin words case-insensitive and not inside a longer word."""
    return "(?:" + "|".join(_branches(words)) + ")"


def _branches(words: Iterable[str], suffix: str = "") -> list[str]:
    """The branches of `_alternation(words)`, each followed by `suffix`.

    Every branch starts with a plain literal character, so `re` can skip ahead to positions
    holding one of the first characters. A Latin word is therefore written as two branches
    (w…, W…) with its left word boundary checked after the first letter: a leading
    look-behind or (?i:) in any branch turns that skip off and made the cue patterns ~8×
    slower. For the same reason patterns with several cue lists join their branches into one
    flat alternation instead of nesting one group per list.
    """
    ordered = sorted(dict.fromkeys(words), key=lambda w: (-len(w), w))
    # Words led by the same non-Latin character and holding no space become one branch, a
    # trie of their other characters (联系|联系人|联络人 -> 联(?:系(?:人|)|络人)): `re` then tests
    # one branch per character where the flat list tried every word. Words led by different
    # characters never match at the same position, so only the order within a group matters,
    # and the trie keeps it (longest first).
    groups: dict[str, list[str]] = {}
    for word in ordered:
        groups.setdefault(word[0], []).append(word)
    parts = []
    for word in ordered:
        first, group = word[0], groups[word[0]]
        if not (first.isascii() and first.isalpha()) and all(" " not in w for w in group):
            if word is group[0]:
                parts.append(re.escape(first)
                             + _literal_trie({w[1:]: _latin_tail(w) for w in group}) + suffix)
            continue
        pieces = word.split(" ")
        first, pieces[0] = pieces[0][0], pieces[0][1:]
        rest = r"[ \t]?".join(re.escape(piece) for piece in pieces)
        tail = _latin_tail(word)
        if first.isascii() and first.isalpha():
            rest = (r"(?i:" + rest + ")") if rest else ""
            for letter in dict.fromkeys((first.lower(), first.upper())):
                parts.append(re.escape(letter) + r"(?<![A-Za-z].)" + rest + tail + suffix)
        else:
            parts.append(re.escape(first) + rest + tail + suffix)
    return parts


def _latin_tail(word: str) -> str:
    """A word ending in a Latin letter may not go on with one ("vx" is not in "vxyz")."""
    return r"(?![A-Za-z])" if word[-1].isascii() and word[-1].isalpha() else ""


# --- patterns --------------------------------------------------------------------------------
#
# Speed: `re` skips quickly to candidate positions only when a pattern starts with a character
# class or with branches that each start with a literal. A leading look-behind disables that
# (about 8× slower on Chinese text), so boundary look-behinds come *after* the first character
# and look two or three characters back: "x(?<![0-9].)" = "x, not preceded by a digit".

# Digit boundaries: a match may not continue a number, including a decimal (2.35, 0.5).
_NB = r"(?<![0-9])(?<![0-9]\.)"
_NB1 = r"(?<![0-9].)(?<![0-9]\..)"  # the same, checked after the first character
_NA = r"(?![0-9])(?!\.[0-9])"
# Between a cue and its value: spaces, an optional 号/ID, a colon, 是/为.
_CUE_SEP = r"(?:号码|号|(?i:id))?[ \t]*(?:[:：是为][ \t]*)?"
# "QQ/微信：…", "微信(同号)：…": a second cue word between the first and the value.
_ALSO = r"(?:[/／、&][^\s:：/／0-9]{1,6}?)?"
_MOBILE_REST = r"[3-9][0-9](?:[ \-]?[0-9]{4}){2}"
_MOBILE_CORE = r"1" + _MOBILE_REST
# +86 / 0086 / 86- / (+86), each branch starting with its literal first character.
_MOBILE_HEADS = (r"\+" + _NB1 + r"86[ \-]?", r"0" + _NB1 + r"086[ \-]?", r"8" + _NB1 + r"6-",
                 r"\(" + _NB1 + r"\+?86\)[ ]?", r"（" + _NB1 + r"\+?86）[ ]?")
_MOBILE = (
    r"(?:" + "|".join(head + _MOBILE_CORE for head in _MOBILE_HEADS)
    + r"|1" + _NB1 + _MOBILE_REST + r")" + _NA
)
_AREA = r"(?:10|2[0-9]|[3-9][0-9]{2})"  # without the trunk 0
_INTL_AREA = r"[ \-]?[(（]?0?" + _AREA + r"[)）]?[ \-]?"  # +86 755 …, +86 (0)755 …
_LANDLINE_HEADS = (
    r"\+" + _NB1 + r"86" + _INTL_AREA,
    r"0" + _NB1 + r"086" + _INTL_AREA,
    r"0" + _NB1 + _AREA + r"[ \-]",  # 0755-…, 0755 …
    r"\(" + _NB1 + r"[ ]?0" + _AREA + r"[ ]?[)）][ ]?",  # (0755) …
    r"（" + _NB1 + r"[ ]?0" + _AREA + r"[ ]?[)）][ ]?",
)
_LANDLINE = (
    r"(?:" + "|".join(_LANDLINE_HEADS) + r")"
    + r"[2-9][0-9]{2,3}[ \-]?[0-9]{4}"  # 7-8 digit local number, maybe split
    + r"(?:[ ]?(?:转|分机|-|(?i:ext)\.?|#)[ ]?[0-9]{1,5})?"  # extension
    + _NA
)
# Without a separator after the area code a landline is just a long number: only after a cue.
_LANDLINE_CUED = (
    _alternation(("电话", "座机", "固话", "传真", "tel", "phone", "fax"))
    + r"[ \t]*(?:[:：.][ \t]*)?" + _NB + r"(?P<v>0" + _AREA + r"[2-9][0-9]{6,7})" + _NA
)
_EMAIL = (
    r"[A-Za-z0-9](?<![A-Za-z0-9._%+\-].)[A-Za-z0-9._%+\-]*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![A-Za-z0-9\-])"
)
_URL = (
    _alternation(("http://", "https://", "www."))
    + r"[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%()]+"
)
_URL_TRAILING = ".,;:!?'\"()[]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_DOMAIN_HEAD = (  # the first label, its first character checked like _LABEL's
    r"[A-Za-z0-9](?<![A-Za-z0-9@.\-_/].)(?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\."
    r"(?:" + _LABEL + r"\.)*"
)
_IDCARD = (
    r"[1-8](?<![0-9A-Za-z].)[0-9]{5}[ ]?(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12][0-9]|3[01])[ ]?[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)
# Issuer prefixes of cards in use in China (UnionPay 62, Visa 4, Mastercard 5, JCB/Amex 3,
# domestic 9xxx): the many 18-19 digit order numbers that start otherwise are never tried.
_BANKCARD = (
    r"[34569](?<![0-9A-Za-z].)(?<![0-9][.\-].)"  # YT4123…: a tracking number's digits
    r"(?:[0-9]{15,18}|[0-9]{3}(?:[ \-][0-9]{4}){3}(?:[ \-][0-9]{1,3})?)"
    r"(?![0-9])(?![.\-][0-9])"
)
_WXID = r"w(?<![A-Za-z0-9_].)xid_[A-Za-z0-9_\-]{4,24}(?![A-Za-z0-9_\-])"
_WECHAT_VALUE = (
    r"(?P<v>wxid_[A-Za-z0-9_\-]{4,24}|[A-Za-z][-_A-Za-z0-9]{5,19}|" + _MOBILE_CORE + r")"
    r"(?![-_A-Za-z0-9])"
)
_MENTION = (
    r"@(?<![A-Za-z0-9._%+\-].)(?P<v>[^\s0-9$¥￥@:：,，.。!！?？;；、()（）\[\]【】<>\"'“”‘’]"
    r"[^\s@:：,，.。!！?？;；、()（）\[\]【】<>\"'“”‘’]{0,19})"
)
_HONORIFIC = r"M(?<![A-Za-z].)(?:rs|r|s|iss)\.?[ ](?P<v>[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)?)"
# "2000pcs@USD2.35": a unit price, not a mention.
_PRICE_AT = re.compile(r"(?i:usd|us\$|rmb|cny|eur|hkd)?[0-9$¥￥€]")
# Mentions of everybody, not of a person.
_TO_ALL = frozenset({"all", "everyone", "所有人", "全体成员", "大家"})
# Discuz times: "2024-3-2 08:18", "3 天前", "昨天 10:05", "半小时前".
_WHEN = r"[0-9]{4}-[0-9]{1,2}-[0-9]|[0-9]+ ?(?:秒|分钟|小时|天)前|[昨前今]天|半小时前"
# Quote headers and edit notes carry the quoted author's username (Simplified or Traditional).
_HEADERS = (
    r"(?<![^\s:：>\]】\"“])(?P<v>[^\s:：]{1,30}) [发發]表[于於] (?=" + _WHEN + ")",
    r"原帖由\s*(?P<v>\S+?)\s*[于於]\s*[0-9]",
    r"本帖最[后後]由\s*(?P<v>\S+?)\s*[于於]\s*[0-9]",
    r"回[复復覆]\s*(?:#?[0-9]+#?\s*[楼樓]?\s*)?(?P<v>\S+?)\s*的帖子",
)
_HEADER_GATE = re.compile(r"[发發]表|由|帖子")
# The literal text each header pattern holds (all hold 表 or 帖): substring tests are far
# cheaper than the gate regex above (its [发發] branch leaves `re` no first characters to
# skip to), and each pattern runs only on text holding its own.
_HEADER_LITERALS = (("表于 ", "表於 "), ("原帖由",), ("本帖最",), ("的帖子",))
_HAN = "\u4e00-\u9fff"
# Prefilters: each states what any match of some patterns must contain, so that a text
# without it skips them (`Detector(prefilter=False)` runs every pattern, for the tests).
# Every number pattern (mobile, landline, ID, card, QQ) holds a run of four digits.
_NUMBER_GATE = re.compile(r"[0-9]{4}")
# "http://", "https://" (any case) hold "://"; "www." (any case) holds "ww.".
_URL_GATE = re.compile(r"://|[wW][wW]\.")


def _char_class(chars: str) -> str:
    return "".join(re.escape(ch) for ch in chars)


@dataclass(frozen=True, slots=True)
class _Compiled:
    mobile: re.Pattern[str]
    landline: re.Pattern[str]
    landline_cued: re.Pattern[str]
    email: re.Pattern[str]
    url: re.Pattern[str]
    domain: re.Pattern[str]
    idcard: re.Pattern[str]
    bankcard: re.Pattern[str]
    not_card_cue: re.Pattern[str]
    qq: re.Pattern[str]
    wechat: re.Pattern[str]
    wxid: re.Pattern[str]
    name_title: re.Pattern[str]
    cue_before: re.Pattern[str]
    name_strong: re.Pattern[str]
    name_weak: re.Pattern[str]
    title_gate: re.Pattern[str]
    cue_gate: re.Pattern[str]
    name_honorific: re.Pattern[str]
    mention: re.Pattern[str]
    headers: tuple[re.Pattern[str], ...]
    qq_gate: re.Pattern[str]
    wechat_gate: re.Pattern[str]
    domain_gate: re.Pattern[str]


def _compile(rules: Rules) -> _Compiled:
    strict_sep = r"(?:号码?[ \t]*(?:[:：][ \t]*)?|[ \t]*[:：][ \t]*)"  # "Q：", "Q号"
    qq = "|".join(
        _branches(rules.qq_cues, _ALSO + _CUE_SEP) + _branches(rules.qq_strict_cues, strict_sep)
    )
    wechat = "|".join(
        _branches(_word_variants(rules.wechat_cues), _ALSO + _CUE_SEP)
        + _branches(rules.wechat_strict_cues, r"[ \t]*[:：][ \t]*")
    )
    # A surname is one character of the class; a compound one (欧阳) completes its first
    # character through a look-behind, so the pattern still starts with a plain class.
    # `Detector._is_surname` drops a compound's first character on its own (上总).
    compounds = _word_variants(rules.compound_surnames)
    firsts = _with_traditional(rules.surnames) + "".join(c[0] for c in compounds)
    # Each branch starts with its literal and checks the first character behind it (阳(?<=欧阳)):
    # branches led by a look-behind are each entered at every surname, ~2× slower overall.
    second = "|".join(f"{re.escape(c[1:])}(?<={re.escape(c)})" for c in compounds)
    surname_first = r"[" + _char_class(_chars(firsts)) + r"]"
    surname_rest = r"(?:" + second + r")?"
    surname = surname_first + surname_rest
    titles = _word_variants(rules.titles)
    blockers = {t2: rules.title_blockers[t] for t in rules.title_blockers
                for t2 in _word_variants([t])}
    title_alt = _literal_trie({
        t: f"(?![{_char_class(_with_traditional(blockers[t]))}])" if t in blockers else ""
        for t in titles
    })
    stop = _char_class(_with_traditional(rules.stop_chars))
    plain_titles = "|".join(re.escape(t) for t in sorted(titles, key=len, reverse=True))
    given = rf"(?!{plain_titles})(?![{stop}])[{_HAN}](?:(?![{stop}])[{_HAN}])?"
    fillers = "(?:" + "|".join(re.escape(f) for f in _word_variants(rules.name_fillers)) + ")?"
    cue_tail = r"[ \t]*(?:[:：][ \t]*)?" + fillers
    followers = _char_class(_with_traditional(rules.weak_followers))
    tlds = "|".join(re.escape(t) for t in sorted(rules.tlds, key=len, reverse=True))
    cue_words = _word_variants(rules.strong_name_cues + rules.weak_name_cues)
    filler_firsts = "".join(f[0] for f in _word_variants(rules.name_fillers))
    cue_next = _char_class(_chars(filler_firsts + firsts))
    return _Compiled(
        mobile=re.compile(_MOBILE),
        landline=re.compile(_LANDLINE),
        landline_cued=re.compile(_LANDLINE_CUED),
        email=re.compile(_EMAIL),
        url=re.compile(_URL),
        domain=re.compile(
            _DOMAIN_HEAD + r"(?i:" + tlds + r")(?![A-Za-z0-9\-_])(?:/[A-Za-z0-9\-._~/?#=&%+]*)?"
        ),
        idcard=re.compile(_IDCARD),
        bankcard=re.compile(_BANKCARD),
        not_card_cue=re.compile(_alternation(_word_variants(rules.not_card_cues))
                                + r"[^0-9\n]{0,8}$"),
        qq=re.compile(r"(?:" + qq + r")" + _NB + r"(?P<v>[1-9][0-9]{4,10})(?![0-9])"),
        wechat=re.compile(r"(?:" + wechat + r")" + _WECHAT_VALUE),
        wxid=re.compile(_WXID),
        name_title=re.compile(
            rf"(?P<v>{surname_first}"
            rf"(?<![{_char_class(_with_traditional(rules.blocked_before))}].)"
            rf"{surname_rest}(?:{title_alt}))"
        ),
        # A title's first character after a surname or a compound's second character: the
        # title pattern starts at every surname, this cheap test at title characters only.
        title_gate=re.compile(
            f"[{_char_class(_chars(''.join(t[0] for t in titles)))}]"
            f"(?<=[{_char_class(_chars(firsts + ''.join(c[1:] for c in compounds)))}].)"
        ),
        # A cue's last character before what cue_tail or a surname starts with: one cheap scan
        # in place of the two cue patterns on the ~3/4 of texts where it fails.
        cue_gate=re.compile(f"[{_char_class(_last_chars(cue_words))}](?=[ \\t:：{cue_next}])"),
        cue_before=re.compile(
            _alternation(_word_variants(rules.strong_name_cues + rules.weak_name_cues))
            + cue_tail + "$"
        ),
        name_strong=re.compile(
            _alternation(_word_variants(rules.strong_name_cues)) + cue_tail
            + rf"(?P<v>{surname}{given})"
        ),
        name_weak=re.compile(
            _alternation(_word_variants(rules.weak_name_cues)) + cue_tail
            + rf"(?P<v>{surname}{given})(?=$|[^{_HAN}]|[{followers}])"
        ),
        name_honorific=re.compile(_HONORIFIC),
        mention=re.compile(_MENTION),
        headers=tuple(re.compile(h) for h in _HEADERS),
        # The cue patterns start with a cue word's first character, the domain pattern holds
        # "." and then a TLD (in the same case-insensitive spelling).
        qq_gate=_first_chars_gate((*rules.qq_cues, *rules.qq_strict_cues)),
        wechat_gate=_first_chars_gate(
            (*_word_variants(rules.wechat_cues), *rules.wechat_strict_cues)
        ),
        domain_gate=re.compile(r"\.(?i:" + tlds + r")"),
    )


def _last_chars(words: Iterable[str]) -> str:
    """The characters `_branches(words)` may end a word with (Latin letters in either case)."""
    chars = {ch for word in words for ch in (word[-1], word[-1].lower(), word[-1].upper())
             if ch == word[-1] or (word[-1].isascii() and word[-1].isalpha())}
    return "".join(sorted(chars))


def _first_chars_gate(words: Iterable[str]) -> re.Pattern[str]:
    """A class of the characters the branches of `_branches(words)` start with."""
    chars = {ch for word in words for ch in (word[0], word[0].lower(), word[0].upper())
             if ch == word[0] or (word[0].isascii() and word[0].isalpha())}
    return re.compile("[" + _char_class("".join(sorted(chars))) + "]")


# --- detection -------------------------------------------------------------------------------


class Detector:
    """All patterns compiled for one set of rules; `find` is pure and thread-safe."""

    def __init__(self, rules: Rules, lexicon: Lexicon | None = None, *,
                 prefilter: bool = True) -> None:
        self.rules = rules
        self.prefilter = prefilter
        self.lexicon = lexicon if lexicon is not None else EMPTY_LEXICON
        self._re = _compile(rules)
        self._surname_chars = frozenset(_with_traditional(rules.surnames))
        self._compounds = frozenset(_word_variants(rules.compound_surnames))
        self._cued = ((self._re.name_strong, False), (self._re.name_weak, True))

    def find(self, text: str, names: Iterable[str] | KnownNames = ()) -> list[Span]:
        folded = _fold(text)
        matcher = compile_known_names(names)
        candidates = self._candidates(folded, matcher)
        if not candidates:
            return []  # most texts
        # Values come from the original text; a known username keeps its canonical spelling
        # (the pseudonym is keyed on it) even where it was typed in full-width letters.
        return [
            Span(s.start, s.end, s.type,
                 s.value if s.type == USERNAME and s.value in matcher.names
                 else text[s.start:s.end])
            for s in resolve_overlaps(candidates)
        ]

    def _candidates(self, text: str, names: KnownNames) -> list[Span]:
        # A list, and a family's generator only where its prefilter passes: most texts hold
        # no detail, and per-text overhead is then a good part of the cost.
        found: list[Span] = []
        if not self.prefilter or _NUMBER_GATE.search(text):
            found += self._numbers(text)
        if "." in text or "@" in text:
            found += self._addresses(text)
        if not self.prefilter or "wxid_" in text or self._re.wechat_gate.search(text):
            found += self._handles(text)
        found += self._names(text)
        found += self._usernames(text, names)
        return found

    # numbers ---------------------------------------------------------------------------------

    def _numbers(self, text: str) -> Iterator[Span]:
        r = self._re
        for m in _matches(r.mobile, text):
            yield Span(m.start(), m.end(), "mobile", m.group())
        for m in _matches(r.landline, text):
            yield Span(m.start(), m.end(), "landline", m.group())
        for m in _matches(r.landline_cued, text):
            yield Span(m.start("v"), m.end("v"), "landline", m.group("v"))
        for m in _matches(r.idcard, text):
            if is_valid_idcard(m.group().replace(" ", "")):
                yield Span(m.start(), m.end(), "idcard", m.group())
        for m in _matches(r.bankcard, text):
            if self._is_card(text, m):
                yield Span(m.start(), m.end(), "bankcard", m.group())
        if not self.prefilter or r.qq_gate.search(text):
            for m in _matches(r.qq, text):
                yield Span(m.start("v"), m.end("v"), "qq", m.group("v"))

    def _is_card(self, text: str, m: re.Match[str]) -> bool:
        number = m.group().replace(" ", "").replace("-", "")
        if not 16 <= len(number) <= 19 or not luhn_valid(number):
            return False
        before = text[max(0, m.start() - 16):m.start()]
        return self._re.not_card_cue.search(before) is None

    # addresses -------------------------------------------------------------------------------

    def _addresses(self, text: str) -> Iterator[Span]:
        r = self._re
        if "@" in text:
            for m in _matches(r.email, text):
                yield Span(m.start(), m.end(), "email", m.group())
        gated = self.prefilter
        for m in _matches(r.url, text) if not gated or _URL_GATE.search(text) else ():
            end = m.end()
            while end > m.start() and text[end - 1] in _URL_TRAILING:
                if text[end - 1] == ")" and text.count("(", m.start(), end) >= text.count(
                    ")", m.start(), end
                ):
                    break  # a balanced ")" belongs to the URL
                end -= 1
            value = text[m.start():end]
            if not self._is_platform(value):
                yield Span(m.start(), end, "url", value)
        for m in _matches(r.domain, text) if not gated or r.domain_gate.search(text) else ():
            if not self._is_platform(m.group()):
                yield Span(m.start(), m.end(), "url", m.group())

    def _is_platform(self, url: str) -> bool:
        """A bare platform home page (alibaba.com) names no one; a shop on it does."""
        rest = re.sub(r"^(?i:https?://)", "", url)
        host, _, path = rest.partition("/")
        host = host.lower()
        host = host.removeprefix("www.")
        return host in self.rules.platform_hosts and path.strip("/") == ""

    # handles ---------------------------------------------------------------------------------

    def _handles(self, text: str) -> Iterator[Span]:
        r = self._re
        gated = self.prefilter and not r.wechat_gate.search(text)
        for m in () if gated else _matches(r.wechat, text):
            value = m.group("v")
            cue = m.group()[:m.start("v") - m.start()]
            # A letters-only id after a cue and a bare space is as likely an English word
            # ("wechat Please"): it needs a colon, 号 or to follow the cue directly.
            if value.isalpha() and cue[-1:].isspace() and not any(c in cue for c in ":：号是为"):
                continue
            yield Span(m.start("v"), m.end("v"), "wechat", value)
        if "wxid_" in text:
            for m in _matches(r.wxid, text):
                yield Span(m.start(), m.end(), "wechat", m.group())

    # names -----------------------------------------------------------------------------------

    def _names(self, text: str) -> list[Span]:
        r = self._re
        found: list[Span] = []
        titled = not self.prefilter or r.title_gate.search(text) is not None
        for m in _matches(r.name_title, text) if titled else ():
            name, start = m.group("v"), m.start("v")
            if not self._is_surname(name):
                continue
            # After a cue (户名马老板, 联系人马经理) it is a person even where the characters
            # could also read as a word (名马, 人马); elsewhere 浙江老板 and 任何老板 end a
            # word with the "surname", and 包工 is itself a word.
            if r.cue_before.search(text, max(0, start - 12), start) or not (
                self._part_of_word(text, start) or self._non_name_word(name, _COMMON_WORD)
            ):
                found.append(Span(start, m.end("v"), "name", name))
        cued = self._cued if not self.prefilter or r.cue_gate.search(text) else ()
        for pattern, weak in cued:
            for m in _matches(pattern, text):
                name = m.group("v")
                after = text[m.end("v"):m.end("v") + 1]
                if self._is_surname(name) and not self._is_word(name, after, weak=weak):
                    found.append(Span(m.start("v"), m.end("v"), "name", name))
        if "M" in text:
            for m in _matches(r.name_honorific, text):
                found.append(Span(m.start("v"), m.end("v"), "name", m.group("v")))
        return found

    def _is_surname(self, name: str) -> bool:
        return name[0] in self._surname_chars or name[:2] in self._compounds

    def _lookup(self, word: str) -> tuple[int, str] | None:
        entries = self.lexicon.entries
        entry = entries.get(word)
        if entry is None and not word.isascii():
            entry = entries.get(_to_simplified(word))
        return entry

    def _non_name_word(self, word: str, min_freq: int = 1) -> bool:
        entry = self._lookup(word)
        return entry is not None and not entry[1].startswith("nr") and entry[0] >= min_freq

    def _is_word(self, candidate: str, after: str, *, weak: bool) -> bool:
        """Is this "surname + given name" really an ordinary word (宁波, 黄金, 马上)?

        `after` is the character following the candidate.
        """
        if self._non_name_word(candidate, _COMMON_WORD):
            return True
        # A word plus the first character of the next word (我是宁波慈溪的 -> 宁波慈|溪,
        # 问下黄金价格 -> 黄金价|格) is not a name; 王国庆 and 韩国庆 are, however common 王国
        # and 韩国 are, because 庆 does not start a word with what follows.
        if (len(candidate) == 3 and self._non_name_word(candidate[:2], _COMMON_WORD)
                and _to_simplified(candidate[2] + after) in self.lexicon.bigrams):
            return True
        if not weak or len(candidate) != 2:
            return False
        # After a verb like 找/问/加 the bar is higher: a very frequent two-character word that
        # jieba tags as a name (顾问, 顾客, 谢谢, 许可) is not a person either. Its three-character
        # "name" words are real names (王晓东), kept.
        entry = self._lookup(candidate)
        return entry is not None and entry[0] >= 500

    def _part_of_word(self, text: str, start: int) -> bool:
        """Is the surname the end of a word with the character before it (浙江, 任何, 一周)?"""
        return start > 0 and self._non_name_word(text[start - 1:start + 1], _COMMON_WORD)

    # usernames -------------------------------------------------------------------------------

    def _usernames(self, text: str, names: KnownNames) -> list[Span]:
        found = [Span(start, end, USERNAME, name) for start, end, name in names.find_all(text)]
        if "@" in text:
            for m in _matches(self._re.mention, text):
                start = m.start("v")
                end = names.match_at(text, start)  # "@东莞老王你好": the known name only
                value = m.group("v")
                if end is None and not _PRICE_AT.match(value) and value.lower() not in _TO_ALL:
                    found.append(Span(start, m.end("v"), USERNAME, value))
        headers: Iterable[re.Pattern[str]] = ()
        if not self.prefilter:
            headers = self._re.headers if _HEADER_GATE.search(text) else ()
        elif "帖" in text or "表" in text:
            headers = [pattern for pattern, literals in zip(self._re.headers, _HEADER_LITERALS,
                                                            strict=True)
                       if any(literal in text for literal in literals)]
        for pattern in headers:
            for m in _matches(pattern, text):
                found.append(Span(m.start("v"), m.end("v"), USERNAME, m.group("v")))
        return found


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep a non-overlapping subset: longest first, then the more specific type, then leftmost.

    Greedy by length is what a reader expects: "wxid_ab13812345678" is one WeChat id, not an id
    with a phone number inside, and "https://shop1.taobao.com" is one URL, not a URL and a
    domain. Returned in text order.
    """
    spans = set(spans)
    if len(spans) <= 1:
        return list(spans)
    order = sorted(spans, key=lambda s: (s.start - s.end, _PRIORITY.get(s.type, 99), s.start))
    starts: list[int] = []
    kept: list[Span] = []
    for span in order:
        i = bisect_left(starts, span.start)
        if i > 0 and kept[i - 1].end > span.start:
            continue
        if i < len(kept) and kept[i].start < span.end:
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept


@cache
def default_detector(cache_dir: str | None = None) -> Detector:
    """The shipped rules and jieba's lexicon (cached in `cache_dir`, see `load_lexicon`)."""
    return Detector(load_rules(), load_lexicon(cache_dir))


def find_pii(text: str, known_names: Iterable[str] | KnownNames = ()) -> list[Span]:
    """Personal details in `text`, in text order, non-overlapping (see the module docstring).

    `known_names` are the forum's usernames; pass a `KnownNames` (see `known_names()`) when
    calling for many posts, so the matcher is built once.
    """
    return default_detector().find(text, known_names)
