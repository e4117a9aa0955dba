"""Word segmentation of post text: jieba with lurker's trade dictionary and stop words.

`Segmenter.from_config()` reads `config/userdict.txt`, `config/stopwords_zh.txt` and
`config/stopwords_en.txt` (or a project's own files); `segmenter.tokens(text)` gives the
content words of one post.

Token rules, decided:
- jieba accurate mode with HMM (new-word discovery for names and slang jieba does not know);
- every Latin-script token is lower-cased, acronyms too: OEM → `oem`, T/T → `t/t`. One form per
  word is what topic models need (OEM, oem and Oem are one word in this corpus), and
  `keywords.py` lower-cases keywords before matching tokens, so both always agree;
- dropped: white space, punctuation, emoji and other symbols, numbers (3000, 30%, 3.5), stop
  words; a token mixing Latin letters and digits is cut to its letter runs (MOQ3000pcs → moq
  and pcs, a stop word) unless it is a user-dictionary term (B2B → b2b);
- user-dictionary terms that jieba would split at a non-word character (T/T, L/C, B/L) are
  protected: the text is cut around them and they are emitted whole.

Initialisation (jieba's prefix dictionary: ~0.55 s and ~60 MB here, loaded from jieba's
marshal cache file after the first run, which helps most on slow disks and CPUs) is paid once
per process: the tokenizer is built lazily and memoised per process, and pickling a
`Segmenter` sends only its small configuration (~8 KB), so a worker process that receives it,
or a copy per batch, builds one tokenizer. With fork-started workers, call `warm_up()` in the
parent first and the workers inherit the built tokenizer for free.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.jieba_cut import CutTokenizer

__all__ = [
    "Segmenter",
    "UserWord",
    "load_stopwords",
    "load_userdict",
    "parse_userdict",
    "parse_word_list",
    "read_config_text",
]

# The characters jieba keeps together in one block (its re_han_default); a user word with any
# other character (the "/" of T/T) is cut apart by jieba before its dictionary is consulted.
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
# Some letter (any script, Han included): tokens without one are punctuation, numbers, emoji.
_HAS_LETTER = re.compile(r"[^\W\d_]")
_ASCII_LETTERS = re.compile(r"[a-z]+")
_USERDICT_LINE = re.compile(r"^(?P<word>\S+)(?:\s+(?P<freq>\d+))?(?:\s+(?P<tag>[a-z]+))?$")


@dataclass(frozen=True, slots=True)
class UserWord:
    word: str
    freq: int | None = None  # None: jieba picks a frequency that keeps the word whole
    tag: str | None = None


# --- configuration (I/O kept to these small readers) -----------------------------------------


def read_config_text(name: str, path: str | Path | None = None) -> str:
    """Text of a project's own file `path`, else of lurker's bundled `config/<name>`."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    return resources.files("config").joinpath(name).read_text(encoding="utf-8")


def parse_word_list(text: str) -> list[str]:
    """Non-empty, non-comment lines of a word list, stripped (BOM tolerated)."""
    lines = (line.strip() for line in text.lstrip("\ufeff").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_userdict(text: str) -> list[UserWord]:
    """Entries of a jieba user dictionary (`word [freq] [pos]`), `#` comments allowed."""
    words: list[UserWord] = []
    for number, line in enumerate(parse_word_list(text), 1):
        match = _USERDICT_LINE.match(line)
        if match is None:
            raise ValueError(f"user dictionary entry {number}: expected 'word freq pos': {line!r}")
        freq = match["freq"]
        words.append(UserWord(match["word"], int(freq) if freq else None, match["tag"]))
    return words


def load_userdict(path: str | Path | None = None) -> list[UserWord]:
    return parse_userdict(read_config_text("userdict.txt", path))


def load_stopwords(
    zh_path: str | Path | None = None, en_path: str | Path | None = None
) -> frozenset[str]:
    """Chinese and English stop words, lower-cased (tokens are compared lower-cased)."""
    words = parse_word_list(read_config_text("stopwords_zh.txt", zh_path))
    words += parse_word_list(read_config_text("stopwords_en.txt", en_path))
    return frozenset(word.lower() for word in words)


# --- the tokenizer, once per process ----------------------------------------------------------

# A tokenizer with jieba's default dictionary loaded before this process was forked (see
# `preload_tokenizer`), for the first `_tokenizer` to take.
_PRELOADED: list[CutTokenizer] = []


def preload_tokenizer(cache_dir: str | None) -> None:
    """Load jieba's default dictionary now, for this process's first tokenizer to start from.

    The workers' forkserver calls it (`pipeline.process.worker_preload`): each worker it forks
    then finds the dictionary in memory instead of loading its own (~1 s of CPU each).
    """
    _PRELOADED[:] = [_default_tokenizer(cache_dir)]


def _default_tokenizer(cache_dir: str | None) -> CutTokenizer:
    from pipeline.jieba_cut import CutTokenizer

    tokenizer = CutTokenizer()  # jieba's Tokenizer, same tokens, a faster accurate-mode cut
    if cache_dir is not None:
        tokenizer.tmp_dir = cache_dir
    tokenizer.initialize()
    tokenizer.loaded_by = os.getpid()  # the process that read the dictionary
    return tokenizer


@lru_cache(maxsize=4)
def _tokenizer(words: tuple[UserWord, ...], cache_dir: str | None) -> CutTokenizer:
    """An own jieba tokenizer (not jieba's global one) with the user words added.

    Memoised per process on the configuration: segmenters unpickled in a worker for each
    batch share one tokenizer. jieba caches its prefix dictionary in `cache_dir` (default:
    the system temp folder), which makes the next process start in ~0.5 s. A preloaded
    tokenizer is taken whatever its `cache_dir`: the dictionary is the same, only where its
    cache file lives differs.
    """
    tokenizer = _PRELOADED.pop() if _PRELOADED else _default_tokenizer(cache_dir)
    for entry in words:
        tokenizer.add_word(entry.word, entry.freq, entry.tag)
    return tokenizer


def _protection_pattern(words: Iterable[UserWord]) -> re.Pattern[str] | None:
    """Regex for user words jieba would split (T/T, L/C), longest first, case-insensitive.

    Latin letters or digits may not touch a match on either side, so T/T inside "AT/TB" is
    left alone.
    """
    protected = sorted(
        {w.word for w in words if not _JIEBA_BLOCK.fullmatch(w.word)}, key=lambda w: -len(w)
    )
    if not protected:
        return None
    alternatives = "|".join(re.escape(word) for word in protected)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


class Segmenter:
    """jieba segmentation with lurker's user dictionary, stop words and token rules."""

    def __init__(
        self,
        userwords: Iterable[UserWord] = (),
        stopwords: Iterable[str] = (),
        *,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.userwords = tuple(userwords)
        self.stopwords = frozenset(word.lower() for word in stopwords)
        self.cache_dir = str(cache_dir) if cache_dir is not None else None
        # Lower-cased user words: an alphanumeric token that is one of them stays whole (b2b).
        self._terms = frozenset(w.word.lower() for w in self.userwords)
        self._protect = _protection_pattern(self.userwords)
        self._jieba: CutTokenizer | None = None

    @classmethod
    def from_config(
        cls,
        userdict: str | Path | None = None,
        stopwords_zh: str | Path | None = None,
        stopwords_en: str | Path | None = None,
        *,
        cache_dir: str | Path | None = None,
    ) -> Segmenter:
        """A segmenter from lurker's bundled config files, or a project's own paths."""
        return cls(
            load_userdict(userdict), load_stopwords(stopwords_zh, stopwords_en),
            cache_dir=cache_dir,
        )

    # Pickling sends the configuration only; the tokenizer is rebuilt (once) in the receiver.
    def __getstate__(self) -> dict[str, Any]:
        return {"userwords": self.userwords, "stopwords": self.stopwords,
                "cache_dir": self.cache_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["userwords"], state["stopwords"], cache_dir=state["cache_dir"])

    @property
    def tokenizer(self) -> CutTokenizer:
        # Looked up once per instance: hashing the configuration on every post would cost.
        if self._jieba is None:
            self._jieba = _tokenizer(self.userwords, self.cache_dir)
        return self._jieba

    def warm_up(self) -> None:
        """Build the tokenizer now (e.g. at worker start) rather than on the first post."""
        self.tokenizer.lcut("预热")

    def raw_tokens(self, text: str) -> list[str]:
        """jieba's tokens, protected terms kept whole; nothing dropped, case kept."""
        if self._protect is None or not self._protect.search(text):
            return self.tokenizer.cut_list(text)  # the common case, no extra layer
        return list(self._cut_around_protected(text))

    def _cut_around_protected(self, text: str) -> Iterator[str]:
        assert self._protect is not None
        cut = self.tokenizer.cut_list
        start = 0
        for match in self._protect.finditer(text):
            if match.start() > start:
                yield from cut(text[start:match.start()])
            yield match.group()
            start = match.end()
        if start < len(text):
            yield from cut(text[start:])

    def tokens(self, text: str) -> list[str]:
        """Content tokens of `text` (give it normalised text), in order, lower-cased."""
        stopwords, terms = self.stopwords, self._terms
        has_letter = _HAS_LETTER.search
        out: list[str] = []
        append = out.append  # bound once: this loop runs for every token of the corpus
        for token in self.raw_tokens(text):
            # Fast path first: most tokens are words of one script (Han or Latin letters).
            if token.isalpha():
                token = token.lower()
            else:
                if not has_letter(token):
                    continue  # white space, punctuation, numbers, emoji and other symbols
                token = token.lower()
                if token.isascii() and token not in terms:
                    # MOQ3000pcs, 2pcs, a-b: keep the letter runs as words.
                    out += (w for w in _ASCII_LETTERS.findall(token) if w not in stopwords)
                    continue
            if token not in stopwords:
                append(token)
        return out
