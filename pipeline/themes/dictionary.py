"""Vocabulary and bag-of-words files for a snapshot, streamed from the store.

Three passes over the snapshot's rows (phrases, dictionary, serialisation), never a list of
the whole corpus in memory. What is written, in one folder per (snapshot, dictionary
settings), reused when it exists because it is a pure function of both:

- `dictionary.gensim`: the gensim `Dictionary` after frequency filtering;
- `corpus.mm` (+ index): the bag-of-words corpus, gensim `MmCorpus`;
- `texts.txt`: each modelled post's in-vocabulary tokens in order, one post a line (for the
  sliding-window coherence measures, which need word order);
- `docs.jsonl`: for each row of the corpus, the post it is (ids, thread, month);
- `phrases.pkl`: the frozen bigram model, when phrases are on;
- `build.json`: counts and SHA-256 of the files, written last (a folder without it is unfinished).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy.engine import Engine

from pipeline.settings import ConfigError

from .corpus import SnapshotDocument, iter_snapshot_documents
from .settings import DictionarySettings


@dataclass(frozen=True, slots=True)
class CorpusFiles:
    folder: Path
    documents: int  # rows of the bag-of-words corpus (posts modelled)
    skipped: int  # snapshot posts with fewer than min_tokens tokens left
    vocabulary: int
    tokens: int  # tokens in the corpus (after filtering)
    phrases: int  # distinct bigrams found in the corpus (0 when phrases are off)
    sha256: dict[str, str]

    @property
    def dictionary_path(self) -> Path:
        return self.folder / "dictionary.gensim"

    @property
    def corpus_path(self) -> Path:
        return self.folder / "corpus.mm"

    @property
    def texts_path(self) -> Path:
        return self.folder / "texts.txt"

    @property
    def docs_path(self) -> Path:
        return self.folder / "docs.jsonl"

    def stats(self) -> dict:
        return {
            "documents": self.documents,
            "skipped": self.skipped,
            "vocabulary": self.vocabulary,
            "tokens": self.tokens,
            "phrases": self.phrases,
        }


class LineTexts:
    """A restartable stream of tokenised posts from `texts.txt` (gensim iterates it again)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[list[str]]:
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                yield line.split()


class _SnapshotTokens:
    """Restartable token stream over a snapshot (each iteration re-reads the store)."""

    def __init__(
        self, engine: Engine, snapshot_id: int, transform: Callable[[list[str]], list[str]]
    ) -> None:
        self.engine, self.snapshot_id, self.transform = engine, snapshot_id, transform

    def __iter__(self) -> Iterator[list[str]]:
        for doc in iter_snapshot_documents(self.engine, self.snapshot_id):
            yield self.transform(list(doc.tokens))


FILES_VERSION = 3  # bump when what the folder holds changes (3: themes stop list)
STOPWORDS_FILE = "themes_stopwords_zh.txt"


def parse_stopwords(text: str) -> frozenset[str]:
    """Words of a themes stop list: several a line allowed, `#` comment lines, lower-cased
    (the segmenter lower-cases tokens, so `QQ` in the list matches the token `qq`)."""
    lines = (line.strip() for line in text.lstrip("\ufeff").splitlines())
    return frozenset(
        word.lower() for line in lines if line and not line.startswith("#") for word in line.split()
    )


def load_stopwords(settings: DictionarySettings, base: Path | None = None) -> frozenset[str]:
    """The themes stop list: the project's file (a path relative to `base`, the workspace) or
    lurker's bundled one, plus `extra_stopwords`."""
    if settings.stopwords:
        path = Path(settings.stopwords).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"themes.dictionary.stopwords: cannot read {path}: {exc}") from None
    else:
        text = resources.files("config").joinpath(STOPWORDS_FILE).read_text(encoding="utf-8")
    return parse_stopwords(text) | {w.lower() for w in settings.extra_stopwords}


def settings_key(settings: DictionarySettings, stopwords: frozenset[str] = frozenset()) -> str:
    # The stop list's words, not its path, shape the files: an edited list builds anew.
    canonical = json.dumps(
        {**asdict(settings), "files": FILES_VERSION, "stop": sorted(stopwords)},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dictionary_digest(dictionary: object) -> str:
    """SHA-256 of a gensim Dictionary's content: (id, word, document frequency) by id."""
    items = [
        [i, dictionary[i], dictionary.dfs.get(i, 0)]  # type: ignore[index, attr-defined]
        for i in sorted(dictionary.keys())  # type: ignore[attr-defined]
    ]
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()


def load_corpus_files(folder: Path) -> CorpusFiles | None:
    marker = folder / "build.json"
    if not marker.exists():
        return None
    data = json.loads(marker.read_text(encoding="utf-8"))
    return CorpusFiles(folder=folder, **data)


def build_corpus(
    engine: Engine,
    snapshot_id: int,
    settings: DictionarySettings,
    root: Path,
    *,
    force: bool = False,
    base: Path | None = None,
) -> CorpusFiles:
    """Build (or reuse) the dictionary and bag-of-words files of a snapshot under `root`;
    `base` (the workspace) resolves a relative stop-list path."""
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models.phrases import Phrases

    stopwords = load_stopwords(settings, base)
    folder = root / f"snapshot-{snapshot_id}-dict-{settings_key(settings, stopwords)}"
    if not force and (existing := load_corpus_files(folder)) is not None:
        return existing
    if folder.exists():
        shutil.rmtree(folder)  # an unfinished build: start over
    folder.mkdir(parents=True)

    phraser = None
    if settings.phrases:
        phrases = Phrases(
            _SnapshotTokens(engine, snapshot_id, lambda tokens: tokens),
            min_count=settings.phrase_min_count,
            threshold=settings.phrase_threshold,
            delimiter="_",
        )
        phraser = phrases.freeze()
        phraser.save(str(folder / "phrases.pkl"))

    def transform(tokens: list[str]) -> list[str]:
        return list(phraser[tokens]) if phraser is not None else tokens

    dictionary = Dictionary(_SnapshotTokens(engine, snapshot_id, transform))
    # Stop words go first, so that `keep_n` counts only words a topic can use. A bigram of
    # stop words (做_出来) goes too; one with a content word (出口_退税) stays.
    dictionary.filter_tokens(bad_ids=[
        i for word, i in dictionary.token2id.items()
        if word in stopwords or all(part in stopwords for part in word.split("_"))
    ])
    dictionary.filter_extremes(
        no_below=settings.no_below, no_above=settings.no_above, keep_n=settings.keep_n
    )
    dictionary.save(str(folder / "dictionary.gensim"))
    token2id = dictionary.token2id

    counts = {"documents": 0, "skipped": 0, "tokens": 0}
    bigrams: set[str] = set()
    texts = (folder / "texts.txt").open("w", encoding="utf-8")
    docs = (folder / "docs.jsonl").open("w", encoding="utf-8")

    def rows() -> Iterator[list[tuple[int, int]]]:
        # Side files are written as MmCorpus consumes the rows, so the store is read once.
        for doc in iter_snapshot_documents(engine, snapshot_id):
            kept = [t for t in transform(list(doc.tokens)) if t in token2id]
            if len(kept) < settings.min_tokens:
                counts["skipped"] += 1
                continue
            if phraser is not None:
                bigrams.update(t for t in kept if "_" in t and t not in doc.tokens)
            counts["documents"] += 1
            counts["tokens"] += len(kept)
            texts.write(" ".join(kept) + "\n")
            docs.write(json.dumps(_doc_row(doc), ensure_ascii=False) + "\n")
            yield dictionary.doc2bow(kept)

    try:
        MmCorpus.serialize(str(folder / "corpus.mm"), rows(), id2word=dictionary)
    finally:
        texts.close()
        docs.close()
    names = ("corpus.mm", "texts.txt", "docs.jsonl")
    data = {
        "documents": counts["documents"],
        "skipped": counts["skipped"],
        "vocabulary": len(dictionary),
        "tokens": counts["tokens"],
        "phrases": len(bigrams),
        # The pickled dictionary's bytes vary between runs; its content does not.
        "sha256": {"dictionary": dictionary_digest(dictionary)}
        | {name: _sha256(folder / name) for name in names},
    }
    (folder / "build.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    return CorpusFiles(folder=folder, **data)


def _doc_row(doc: SnapshotDocument) -> dict:
    return {
        "pp": doc.processed_post_id,
        "thread": doc.thread_id,
        "tid": doc.tid,
        "floor": doc.floor,
        "month": doc.month,
    }


def read_docs(files: CorpusFiles) -> list[dict]:
    """The corpus rows' post ids and months (small: a few numbers per post)."""
    with files.docs_path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]
