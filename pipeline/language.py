"""Language of a post, decided by script shares first and by langdetect only when in doubt.

On a mainland trading forum almost every post is Chinese, often with English trade terms
(`我们做OEM的，MOQ 3000`), and some are English. Counting scripts tells these apart at C speed,
and common English function words (the, is, we…) tell English prose from acronyms and from
other Latin languages. langdetect (about six times slower per character than jieba, and ~2 ms
per call) runs only when that is not enough: Latin text without English function words and
with little Chinese (English or another Latin language?), or another script (Japanese kana,
Hangul, Cyrillic…). On the demo corpus that is under 1% of posts.

Decision, in order: too few units → `und`; Han ≥ 60% of units → `zh`; Latin part is English
prose → `zh` if Han ≥ 50% else `en` (a real zh/en mix goes to the larger share); Han ≥ 20% with
Latin words that are not English prose (terms, names, IDs) → `zh`; anything else → langdetect.

Units: a Han character, a kana/Hangul character, or a word of an alphabetic script counts as one
unit. A Chinese word is about 1.5 characters, so this leans slightly towards Chinese, as it
should for a Chinese forum: `zh_share >= 0.6` of units is roughly half of the words.

Traditional Chinese, decided: `lang` stays `zh` and `traditional=True` says the post is written
in Traditional characters. Downstream filters that want "Chinese" then need one test, and the
script is kept for the researcher (and for choosing `normalise(..., to_simplified=True)`);
`LanguageResult.tag` gives the BCP 47 form (`zh-Hant`) used by the demo corpus and exports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from pipeline.normalise import char_class, simplified_table, traditional_table

if TYPE_CHECKING:
    from langdetect.detector import Detector
    from langdetect.detector_factory import DetectorFactory

__all__ = [
    "LanguageResult",
    "ScriptCounts",
    "SentenceLanguage",
    "detect_language",
    "language_and_sentences",
    "script_counts",
    "sentence_label_counts",
    "sentence_languages",
    "warm_up",
]

# Fewer units than this in every script is too little to tell (顶, mark, 👍, "ok thx").
MIN_HAN = 4
MIN_WORDS = 3
# Script-share thresholds (shares of units, see the module docstring).
ZH_MIN_SHARE = 0.6  # Chinese whatever the Latin words are
MIX_ZH_SHARE = 0.5  # Chinese mixed with English prose: Chinese from this share
HAN_SUBSTANTIAL_SHARE = 0.2  # enough Chinese that non-English Latin words are terms/names
OTHER_MAX_SHARE = 0.2  # more kana, Hangul, Cyrillic… than this: ask langdetect
# Share of Latin words that are common English words (function words and everyday forum words)
# above which the Latin part is English without asking langdetect. Chosen to be rare as words
# in other Latin languages (no "de", "la", "in", "on", "a", "as", "an").
EN_FUNCTION_MIN_SHARE = 0.1
EN_FUNCTION_WORDS = frozenset({
    "the", "and", "is", "are", "was", "were", "to", "of", "we", "you", "it", "for", "with",
    "this", "that", "have", "has", "be", "been", "not", "our", "your", "can", "will", "would",
    "should", "could", "from", "they", "there", "what", "about", "which", "i", "my", "me", "but",
    "if", "or", "any", "how", "do", "does", "did", "so", "just", "than", "then", "them", "their",
    "also", "only", "very", "please", "thanks", "here", "same", "all", "one", "some", "more",
    "get", "good", "know", "think", "need", "want", "like", "when", "who", "why", "anyone",
    "at", "by", "after", "since", "into", "out", "up", "now", "new", "first", "small", "low",
})
# langdetect reads at most this many characters: more does not change its answer on a post,
# and it keeps a 1 MB post linear and cheap.
LANGDETECT_MAX_CHARS = 2000
LANGDETECT_SEED = 0

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_KANA_HANGUL = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3130-\u318f\uac00-\ud7af]+")
# A run of letters glued to digits or "_" (wxid_m5gn7, eric2020, 3000pcs) is an ID or a code,
# not a word of any language. Written as "a letter not preceded by [0-9_], then more letters":
# the same matches as `(?<![0-9_])[letters]+…`, but a pattern that starts with a character class
# lets `re` skip to the next letter at C speed instead of trying the lookbehind everywhere (2.5×).
_LETTER = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_LATIN_WORD = re.compile(
    f"[{_LETTER}](?<![0-9_][\\s\\S])[{_LETTER}]*(?:['’][A-Za-z]+)?(?![0-9_])"
)
# Words of other alphabets: Greek, Cyrillic, Armenian, Hebrew, Arabic, Indic, Thai, Georgian…
_OTHER_WORD = re.compile("[\u0370-\u1dff\u1f00-\u1fff]+")
# Any character of `_KANA_HANGUL` or `_OTHER_WORD`: one scan that is almost always empty.
_ANY_OTHER = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3130-\u318f\uac00-\ud7af\u0370-\u1dff\u1f00-\u1fff]"
)
# Addresses and @mentions (user names) say nothing about the language of the words around them.
_URLISH = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+|@\S+")
# A sentence ends after a run of sentence-final marks (好的。。。 is one sentence), at a line
# break, or after a full stop followed by white space (3.5 and www.x.com are not sentence ends).
# Matched as the sentences themselves (text up to and including the marks; empty at a line
# break) rather than split at zero-width breaks: the same pieces, minus empty ones, but
# `re.split` had to try three lookbehinds at every character (2.3× slower).
_SENTENCE = re.compile(r"(?:[^。！？!?；;…\n.]+|\.(?!\s))*(?:[。！？!?；;…]+|\.)?")


@dataclass(frozen=True, slots=True)
class ScriptCounts:
    han: int = 0  # Han characters
    latin: int = 0  # Latin-script words
    other: int = 0  # kana/Hangul characters and words of other alphabets
    en_function: int = 0  # Latin words that are English function words
    traditional: int = 0  # characters only used in Traditional writing (後, 們, 產…)
    simplified: int = 0  # characters only used in Simplified writing (后, 们, 产…)

    @property
    def units(self) -> int:
        return self.han + self.latin + self.other

    def share(self, part: int) -> float:
        return part / self.units if self.units else 0.0


@dataclass(frozen=True, slots=True)
class LanguageResult:
    lang: str  # zh, en, und, or another langdetect code (fr, ja, ko…)
    zh_share: float  # Han units / all units
    en_share: float  # Latin-word units / all units
    method: str  # short | script | function-words | langdetect (what decided)
    traditional: bool = False  # zh written in Traditional characters

    @property
    def tag(self) -> str:
        """BCP 47 style tag: `zh-Hant` for Traditional Chinese, otherwise `lang`."""
        return "zh-Hant" if self.lang == "zh" and self.traditional else self.lang


@dataclass(frozen=True, slots=True)
class SentenceLanguage:
    text: str
    lang: str  # by script only: zh, en (Latin script), mixed (both), other, und (no letters)
    zh_share: float
    en_share: float


@cache
def _variant_classes() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Regexes for characters that occur only in Traditional / only in Simplified writing.

    From OpenCC's tables: a Traditional character whose Simplified form is always another
    character (後 → 后), and the reverse table's keys that never map to themselves. Characters
    valid in both (乾, 於, 后, 台) count for neither, and so do the rare supplementary-plane
    ones: listing those in a class makes `re` scan the class linearly, ~100× slower.
    """
    trad_only = {k for k, v in traditional_table().items() if k not in v}
    simp_only = {k for k, v in simplified_table().items() if k not in v}
    simp_only -= set(traditional_table())
    return (
        re.compile(char_class(c for c in trad_only if c <= "\uffff")),
        re.compile(char_class(c for c in simp_only if c <= "\uffff")),
    )


def _run_length(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _without_addresses(text: str) -> str:
    if "://" in text or "www." in text or "@" in text:
        return _URLISH.sub(" ", text)
    return text


def _other_units(text: str) -> int:
    if _ANY_OTHER.search(text) is None:
        return 0  # the usual case: one scan instead of two
    return _run_length(_KANA_HANGUL, text) + len(_OTHER_WORD.findall(text))


def _en_function(latin_words: list[str]) -> int:
    return sum(1 for word in latin_words if word.lower() in EN_FUNCTION_WORDS)


def _variant_counts(text: str) -> tuple[int, int]:
    trad_class, simp_class = _variant_classes()
    return len(trad_class.findall(text)), len(simp_class.findall(text))


def script_counts(text: str) -> ScriptCounts:
    """Count units per script in `text` (URLs and e-mail addresses are not counted)."""
    text = _without_addresses(text)
    han = _run_length(_HAN, text)
    latin_words = _LATIN_WORD.findall(text)
    traditional, simplified = _variant_counts(text) if han else (0, 0)
    return ScriptCounts(han, len(latin_words), _other_units(text), _en_function(latin_words),
                        traditional, simplified)


def detect_language(text: str) -> LanguageResult:
    """Language of one post's text (normalised text gives the best results)."""
    return _detect(text)[0]


def language_and_sentences(text: str) -> tuple[LanguageResult, dict[str, int]]:
    """`detect_language(text)` and `sentence_label_counts(text)`, sharing their scans of the
    whole text (what the processing flow asks of every post)."""
    result, has_addresses, han, latin, other = _detect(text)
    if has_addresses:
        return result, sentence_label_counts(text)
    # Without addresses the counts are of `text` itself: a script with no unit in it has none
    # in any sentence either.
    return result, _label_counts(text, False, han > 0, latin > 0, other > 0)


def _detect(text: str) -> tuple[LanguageResult, bool, int, int, int]:
    """`detect_language`, with whether `text` has addresses and its Han, Latin, other units."""
    # `script_counts` inlined, and each count made only when the decision needs it (the
    # English function words, the Traditional/Simplified characters): this runs on every post.
    has_addresses = "://" in text or "www." in text or "@" in text
    counted = _URLISH.sub(" ", text) if has_addresses else text
    han = _run_length(_HAN, counted)
    latin_words = _LATIN_WORD.findall(counted)
    latin = len(latin_words)
    other = _other_units(counted)
    units = han + latin + other
    zh_share = han / units if units else 0.0
    en_share = latin / units if units else 0.0
    other_share = other / units if units else 0.0

    if han < MIN_HAN and latin < MIN_WORDS and other < MIN_WORDS:
        lang, method = "und", "short"
    elif other_share < OTHER_MAX_SHARE and zh_share >= ZH_MIN_SHARE:
        lang, method = "zh", "script"
    elif (other_share < OTHER_MAX_SHARE and latin >= MIN_WORDS
          and _en_function(latin_words) >= EN_FUNCTION_MIN_SHARE * latin):
        # The Latin part is English: a Chinese/English mix goes to the larger share.
        lang, method = ("zh" if zh_share >= MIX_ZH_SHARE else "en"), "function-words"
    elif other_share < OTHER_MAX_SHARE and han >= MIN_HAN and zh_share >= HAN_SUBSTANTIAL_SHARE:
        # Latin words that are not English prose next to real Chinese are trade terms,
        # names and IDs (OEM/ODM 我们都做，FOB 宁波): the post is Chinese.
        lang, method = "zh", "script"
    else:
        lang, method = _langdetect(text), "langdetect"
    traditional = False
    if lang == "zh" and han:
        trad_class, simp_class = _variant_classes()
        # Simplified-only characters are counted only when there is a Traditional-only one.
        count = len(trad_class.findall(counted))
        traditional = count > 0 and count > len(simp_class.findall(counted))
    result = LanguageResult(lang, round(zh_share, 4), round(en_share, 4), method, traditional)
    return result, has_addresses, han, latin, other


def warm_up() -> None:
    """Build the one-off tables now (at worker start) rather than on the first post that needs
    them: the Traditional/Simplified classes and langdetect's profiles (~0.1 s together)."""
    _variant_classes()
    _detector_factory()


def _langdetect(text: str) -> str:
    from langdetect.lang_detect_exception import LangDetectException

    detector = _detector_class()(_detector_factory())  # as `factory.create()` makes it
    detector.append(text[:LANGDETECT_MAX_CHARS])
    try:
        lang = detector.detect()
    except LangDetectException:
        return "und"
    # zh-cn / zh-tw: the script is reported by `traditional`, from the characters themselves.
    return "zh" if lang.startswith("zh") else lang


@cache
def _detector_class() -> type[Detector]:
    """langdetect's `Detector` with its two inner loops over the languages as comprehensions.

    The same float operations in the same order, so the same probabilities; about 70% of
    a doubtful post's time went to `_update_lang_prob` (dozens of posts per 10,000).
    """
    from langdetect.detector import Detector

    class FastDetector(Detector):
        def _update_lang_prob(self, prob: list[float], word: str | None, alpha: float) -> bool:
            if self.verbose or word is None or word not in self.word_lang_prob_map:
                return bool(super()._update_lang_prob(prob, word, alpha))
            weight = alpha / self.BASE_FREQ
            # `prob[i] *= weight + lang_prob_map[i]` for each language, in place (the table's
            # lists are longer than `prob` if the profile folder holds a stray file).
            table = self.word_lang_prob_map[word]
            prob[:] = [p * (weight + q) for p, q in zip(prob, table, strict=False)]
            return True

        def _normalize_prob(self, prob: list[float]) -> float:
            total = sum(prob)
            prob[:] = [p / total for p in prob]
            return max([0.0, *prob])  # the stock loop's maximum, starting from 0.0

    return FastDetector


@cache
def _detector_factory() -> DetectorFactory:
    """One langdetect factory per process, with a fixed seed so results are reproducible.

    An own factory rather than langdetect's module-level one, so that the seed is set once
    here and nothing global in langdetect is changed for other users in the process. Its
    n-gram table is `_LazyWordProbs`: the same table as `load_profile` builds, filled on use.
    """
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.word_lang_prob_map, factory.langlist = _load_profiles(PROFILES_DIRECTORY)
    factory.set_seed(LANGDETECT_SEED)
    return factory


def _load_profiles(directory: str) -> tuple[_LazyWordProbs, list[str]]:
    """`DetectorFactory.load_profile` (langdetect 1.0.9) without building its table up front.

    The stock loader makes one 55-float list per n-gram (88k lists, ~45 MB) on the first
    doubtful post, ~0.3 s alone and several times that next to jieba's heap (GC passes);
    a few hundred n-grams are ever looked up. Files are read in the same (listdir) order and
    the table is sized the same way, so every entry equals the stock one.
    """
    import json
    import os

    names = os.listdir(directory)
    profiles: list[tuple[dict[str, int], list[int]]] = []
    langlist: list[str] = []
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        if data["name"] in langlist:
            raise ValueError(f"duplicate langdetect profile {data['name']!r}")
        langlist.append(data["name"])
        profiles.append((data["freq"], data["n_words"]))
    return _LazyWordProbs(profiles, len(names)), langlist


class _LazyWordProbs:
    """n-gram → per-language probabilities, as langdetect's `word_lang_prob_map`.

    langdetect's `Detector` only asks `word in table` and `table[word]`, so the lists are
    computed on first use, with the stock loader's arithmetic, and kept.
    """

    __slots__ = ("_known", "_lists", "_profiles", "_size")

    def __init__(self, profiles: list[tuple[dict[str, int], list[int]]], size: int) -> None:
        self._profiles = profiles
        self._size = size
        self._known = frozenset().union(*(freq for freq, _ in profiles))
        self._lists: dict[str, list[float]] = {}

    def __contains__(self, word: object) -> bool:
        return word in self._known

    def __getitem__(self, word: str) -> list[float]:
        probs = self._lists.get(word)
        if probs is None:
            if word not in self._known:
                raise KeyError(word)
            probs = [0.0] * self._size
            length = len(word)
            if 1 <= length <= 3:
                for index, (freq, n_words) in enumerate(self._profiles):
                    count = freq.get(word)
                    if count is not None:
                        probs[index] = 1.0 * count / n_words[length - 1]
            self._lists[word] = probs
        return probs

    def __len__(self) -> int:
        return len(self._known)


def sentence_languages(text: str) -> list[SentenceLanguage]:
    """Split `text` into sentences and label each by script alone (no langdetect).

    For code-switching statistics: `mixed` marks a sentence with both Han and Latin words
    (`我们做OEM的`), `en` a Latin-script sentence inside a post.
    """
    sentences: list[SentenceLanguage] = []
    for piece in _SENTENCE.findall(text):
        sentence = piece.strip()
        if not sentence:
            continue
        counts = script_counts(sentence)
        sentences.append(
            SentenceLanguage(
                sentence,
                _script_label(counts),
                round(counts.share(counts.han), 4),
                round(counts.share(counts.latin), 4),
            )
        )
    return sentences


def sentence_label_counts(text: str) -> dict[str, int]:
    """Sentences per label of `sentence_languages`, sorted by label: the same labels, but
    found with one `search` per script instead of counting every unit (a label only asks
    whether a sentence has Han, Latin words or other letters), and no per-sentence records."""
    # A script absent from the whole text is absent from every sentence, so its search is
    # skipped per sentence. Not with addresses: they are removed sentence by sentence.
    if "://" in text or "www." in text or "@" in text:
        return _label_counts(text, True, True, True, True)
    return _label_counts(text, False, _HAN.search(text) is not None,
                         _LATIN_WORD.search(text) is not None,
                         _ANY_OTHER.search(text) is not None)


def _label_counts(
    text: str, has_addresses: bool, may_han: bool, may_latin: bool, may_other: bool
) -> dict[str, int]:
    if not (has_addresses or may_latin or may_other):
        # Han or nothing (most posts): each sentence is zh or und. White space never holds
        # Han, so the search needs no stripped copy.
        han = und = 0
        for sentence in _SENTENCE.findall(text):
            if sentence and not sentence.isspace():
                if may_han and _HAN.search(sentence):
                    han += 1
                else:
                    und += 1
        found = {"und": und, "zh": han}  # sorted by label
        return {label: n for label, n in found.items() if n}
    counts: dict[str, int] = {}
    for piece in _SENTENCE.findall(text):
        sentence = piece.strip()
        if not sentence:
            continue
        if has_addresses and ("://" in sentence or "www." in sentence or "@" in sentence):
            sentence = _URLISH.sub(" ", sentence)  # as `script_counts` does
        han = may_han and _HAN.search(sentence) is not None
        latin = may_latin and _LATIN_WORD.search(sentence) is not None
        if han and latin:
            label = "mixed"
        elif han:
            label = "zh"
        elif latin:
            label = "en"
        elif may_other and _ANY_OTHER.search(sentence):
            label = "other"
        else:
            label = "und"
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def _script_label(counts: ScriptCounts) -> str:
    if counts.han and counts.latin:
        return "mixed"
    if counts.han:
        return "zh"
    if counts.latin:
        return "en"
    return "other" if counts.other else "und"
