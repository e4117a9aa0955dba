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
    from langdetect.detector_factory import DetectorFactory

__all__ = [
    "LanguageResult",
    "ScriptCounts",
    "SentenceLanguage",
    "detect_language",
    "script_counts",
    "sentence_label_counts",
    "sentence_languages",
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
# not a word of any language.
_LATIN_WORD = re.compile(
    "(?<![0-9_])[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+(?:['’][A-Za-z]+)?(?![0-9_])"
)
# Words of other alphabets: Greek, Cyrillic, Armenian, Hebrew, Arabic, Indic, Thai, Georgian…
_OTHER_WORD = re.compile("[\u0370-\u1dff\u1f00-\u1fff]+")
# Addresses and @mentions (user names) say nothing about the language of the words around them.
_URLISH = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+|@\S+")
# After a run of sentence-final marks (好的。。。 is one sentence), at a line break, or after a
# full stop followed by white space (3.5 and www.x.com are not sentence ends).
_SENTENCE_BREAK = re.compile(r"(?<=[。！？!?；;…])(?![。！？!?；;…])|\n|(?<=\.)(?=\s)")


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


def script_counts(text: str) -> ScriptCounts:
    """Count units per script in `text` (URLs and e-mail addresses are not counted)."""
    if "://" in text or "www." in text or "@" in text:
        text = _URLISH.sub(" ", text)
    han = _run_length(_HAN, text)
    latin_words = _LATIN_WORD.findall(text)
    other = _run_length(_KANA_HANGUL, text) + len(_OTHER_WORD.findall(text))
    traditional = simplified = 0
    if han:
        trad_class, simp_class = _variant_classes()
        traditional = len(trad_class.findall(text))
        simplified = len(simp_class.findall(text))
    en_function = sum(1 for word in latin_words if word.lower() in EN_FUNCTION_WORDS)
    return ScriptCounts(han, len(latin_words), other, en_function, traditional, simplified)


def detect_language(text: str) -> LanguageResult:
    """Language of one post's text (normalised text gives the best results)."""
    counts = script_counts(text)
    zh_share, en_share = counts.share(counts.han), counts.share(counts.latin)
    other_share = counts.share(counts.other)

    def result(lang: str, method: str) -> LanguageResult:
        traditional = lang == "zh" and counts.traditional > counts.simplified
        return LanguageResult(lang, round(zh_share, 4), round(en_share, 4), method, traditional)

    if counts.han < MIN_HAN and counts.latin < MIN_WORDS and counts.other < MIN_WORDS:
        return result("und", "short")
    if other_share < OTHER_MAX_SHARE:
        if zh_share >= ZH_MIN_SHARE:
            return result("zh", "script")
        if counts.latin >= MIN_WORDS and counts.en_function >= EN_FUNCTION_MIN_SHARE * counts.latin:
            # The Latin part is English: a Chinese/English mix goes to the larger share.
            return result("zh" if zh_share >= MIX_ZH_SHARE else "en", "function-words")
        if counts.han >= MIN_HAN and zh_share >= HAN_SUBSTANTIAL_SHARE:
            # Latin words that are not English prose next to real Chinese are trade terms,
            # names and IDs (OEM/ODM 我们都做，FOB 宁波): the post is Chinese.
            return result("zh", "script")
    return result(_langdetect(text), "langdetect")


def _langdetect(text: str) -> str:
    from langdetect.lang_detect_exception import LangDetectException

    detector = _detector_factory().create()
    detector.append(text[:LANGDETECT_MAX_CHARS])
    try:
        lang = detector.detect()
    except LangDetectException:
        return "und"
    # zh-cn / zh-tw: the script is reported by `traditional`, from the characters themselves.
    return "zh" if lang.startswith("zh") else lang


@cache
def _detector_factory() -> DetectorFactory:
    """One langdetect factory per process, with a fixed seed so results are reproducible.

    An own factory rather than langdetect's module-level one, so that the seed is set once
    here and nothing global in langdetect is changed for other users in the process.
    """
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(LANGDETECT_SEED)
    return factory


def sentence_languages(text: str) -> list[SentenceLanguage]:
    """Split `text` into sentences and label each by script alone (no langdetect).

    For code-switching statistics: `mixed` marks a sentence with both Han and Latin words
    (`我们做OEM的`), `en` a Latin-script sentence inside a post.
    """
    sentences: list[SentenceLanguage] = []
    for piece in _SENTENCE_BREAK.split(text):
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
    counts: dict[str, int] = {}
    for piece in _SENTENCE_BREAK.split(text):
        sentence = piece.strip()
        if not sentence:
            continue
        if "://" in sentence or "www." in sentence or "@" in sentence:
            sentence = _URLISH.sub(" ", sentence)  # as `script_counts` does
        han = _HAN.search(sentence) is not None
        latin = _LATIN_WORD.search(sentence) is not None
        if han and latin:
            label = "mixed"
        elif han:
            label = "zh"
        elif latin:
            label = "en"
        elif _KANA_HANGUL.search(sentence) or _OTHER_WORD.search(sentence):
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
