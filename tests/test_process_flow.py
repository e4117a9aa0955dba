"""`lurker process` end to end: the real Prefect flow on a real SQLite store filled with the
demo corpus's ground truth (no crawl: see tests/corpus_store.py), and the CLI as a subprocess."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from pipeline.keywords import KeywordFilter
from pipeline.process import run_process
from pipeline.store import ArchiveStore
from pipeline.store.corpus import ProcessedPost, Snapshot, SnapshotPost
from pipeline.store.models import Post, Thread
from pipeline.workspace import Workspace
from spiders.parsers.model import Generation, ParsedPost, ThreadPage, TimeMethod
from tests.conftest import lurker
from tests.corpus_store import fill_store

if TYPE_CHECKING:  # importing the flow imports Prefect, which must wait for configure_prefect
    from pipeline.process.flow import ProcessReport

KEY_FILE = "pseudonym.key"


@dataclass
class Run:
    ws: Workspace
    report: ProcessReport



@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One store filled from the ground truth (read at test time), copied per workspace."""
    folder = tmp_path_factory.mktemp("archive")
    store = ArchiveStore(f"sqlite:///{folder / 'lurker.sqlite'}")
    try:
        corpus = fill_store(store)
    finally:
        store.close()
    return folder / "lurker.sqlite", corpus


def new_workspace(tmp: Path, name: str, db: Path, key_from: Workspace | None = None
                  ) -> Workspace:
    ws = Workspace.resolve(tmp / name).create()
    shutil.copy(db, ws.db_path)
    # Batches smaller than the default, so that the demo archive's 4,138 posts take several
    # (threads across batch edges, the register and the snapshot order between batches).
    ws.config_file.write_text("[process]\nbatch_size = 1000\n", encoding="utf-8")
    if key_from is not None:
        shutil.copy(key_from.root / KEY_FILE, ws.root / KEY_FILE)
        (ws.root / KEY_FILE).chmod(0o600)
    return ws


@pytest.fixture(scope="module")
def first(archive, tmp_path_factory, prefect_env) -> Run:
    ws = new_workspace(tmp_path_factory.mktemp("ws"), "a", archive[0])
    return Run(ws, run_process(ws))


def processed(ws: Workspace, snapshot_id: int) -> dict[int, dict[str, Any]]:
    """pid -> what the snapshot holds for that post."""
    store = ArchiveStore(ws.store_url)
    try:
        with store.session() as s:
            rows = s.execute(
                select(Post.pid, ProcessedPost, SnapshotPost.kept)
                .join(ProcessedPost, ProcessedPost.post_id == Post.id)
                .join(SnapshotPost, SnapshotPost.processed_post_id == ProcessedPost.id)
                .where(SnapshotPost.snapshot_id == snapshot_id)
            ).all()
            return {
                pid: {"text": pp.text, "tokens": pp.tokens, "quotes": pp.quotes,
                      "pseudonym": pp.author_pseudonym, "kept": kept, "matched": pp.matched,
                      "floor": pp.floor, "thread_id": pp.thread_id, "hits": pp.hits,
                      "lang": pp.lang, "traditional": pp.traditional}
                for pid, pp, kept in rows
            }
    finally:
        store.close()


def assert_same_corpus(first: Run, ws: Workspace, snapshot_id: int
                       ) -> dict[int, tuple[str, str | None]]:
    """`ws`'s snapshot holds the first run's corpus: each post's text, tokens, pseudonym and
    kept flag, and each thread's subject; returns the subjects."""
    from pipeline.process.store_io import snapshot_subjects

    def posts(rows: dict[int, dict[str, Any]]) -> dict[int, tuple[Any, ...]]:
        return {p: (r["text"], r["tokens"], r["pseudonym"], r["kept"]) for p, r in rows.items()}

    assert posts(processed(first.ws, first.report.snapshot_id)) == \
        posts(processed(ws, snapshot_id))
    one, two = ArchiveStore(first.ws.store_url), ArchiveStore(ws.store_url)
    try:
        subjects = snapshot_subjects(one, first.report.snapshot_id)
        assert subjects and snapshot_subjects(two, snapshot_id) == subjects
    finally:
        one.close()
        two.close()
    return subjects


def visible_posts(corpus: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for t in corpus["threads"] for p in t["posts"] if not p.get("moderation")]


def everything(row: dict[str, Any]) -> str:
    return "\n".join([row["text"], json.dumps(row["quotes"], ensure_ascii=False)])


def test_every_planted_detail_is_removed(first: Run, archive) -> None:
    corpus = archive[1]
    rows = processed(first.ws, first.report.snapshot_id)
    planted = [(p["pid"], span) for p in visible_posts(corpus) for span in p["pii"]]
    assert len(planted) > 100 and {s["type"] for _, s in planted} >= {
        "mobile", "landline", "email", "qq", "wechat", "idcard", "bankcard", "url", "name"}
    # Quoted excerpts repeat the quoted post's words: every text of the snapshot is searched.
    corpus_text = "\n".join(everything(r) for r in rows.values())
    tokens = {t for r in rows.values() for t in r["tokens"].split()}
    found = [(pid, s) for pid, s in planted
             if s["value"] in corpus_text or s["value"].lower() in tokens]
    recall = 1 - len(found) / len(planted)
    assert recall == 1.0, found[:5]
    by_type = Counter(s["type"] for _, s in planted)
    replaced = first.report.summary["replacements"]
    for kind, planted_count in by_type.items():
        assert replaced.get(kind, 0) >= planted_count * 0.9, (kind, replaced)


def test_no_real_author_name_survives(first: Run, archive) -> None:
    corpus = archive[1]
    names = {u["username"] for u in corpus["users"]}
    names |= {p["author"] for t in corpus["threads"] for p in t["posts"]}
    rows = processed(first.ws, first.report.snapshot_id)
    text = "\n".join(everything(r) for r in rows.values())
    tokens = {t for r in rows.values() for t in r["tokens"].split()}
    survivors = [n for n in names if len(n) >= 2 and (n in text or n.lower() in tokens)]
    assert survivors == []
    authors = {p["pid"]: p["author"] for p in visible_posts(corpus)}
    for pid, row in rows.items():
        assert re.fullmatch(r"[A-Z]{2,4}", row["pseudonym"]), row["pseudonym"]
        assert row["pseudonym"] != authors[pid]
    # One pseudonym per author, and two authors never share one.
    mapping = {(authors[pid], row["pseudonym"]) for pid, row in rows.items()}
    assert len({a for a, _ in mapping}) == len(mapping) == len({c for _, c in mapping})


def test_moderated_posts_are_not_in_the_snapshot(first: Run, archive) -> None:
    corpus = archive[1]
    rows = processed(first.ws, first.report.snapshot_id)
    hidden = {p["pid"] for t in corpus["threads"] for p in t["posts"] if p.get("moderation")}
    assert hidden and not hidden & set(rows)
    assert set(rows) == {p["pid"] for p in visible_posts(corpus)}
    assert first.report.summary["posts_in"] == len(rows)


def test_languages_and_quotes_recorded(first: Run, archive) -> None:
    corpus = archive[1]
    rows = processed(first.ws, first.report.snapshot_id)
    truth = {p["pid"]: p for p in visible_posts(corpus)}
    long_zh = [pid for pid, p in truth.items() if p["lang"] == "zh" and len(p["text"]) > 30]
    assert sum(rows[pid]["lang"] == "zh" for pid in long_zh) >= 0.98 * len(long_zh)
    mixed = [pid for pid, p in truth.items() if p["lang"] == "mixed" and len(p["text"]) > 30]
    assert mixed and sum(rows[pid]["lang"] == "zh" for pid in mixed) >= 0.9 * len(mixed)
    assert first.report.summary["code_switched_posts"] >= 0.5 * len(mixed)
    hant = [pid for pid, p in truth.items() if p["lang"] == "zh-Hant" and len(p["text"]) > 30]
    assert hant and sum(rows[pid]["traditional"] for pid in hant) >= 0.9 * len(hant)
    quoted = [pid for pid, p in truth.items() if p["quote"]]
    assert quoted
    for pid in quoted:
        [quote] = rows[pid]["quotes"]
        assert quote["author"] == rows_author_code(rows, truth, truth[pid]["quote"]["author"])


def rows_author_code(rows: dict[int, dict[str, Any]], truth: dict[int, dict[str, Any]],
                     author: str) -> str | None:
    codes = {rows[pid]["pseudonym"] for pid, p in truth.items() if p["author"] == author}
    return codes.pop() if len(codes) == 1 else None


def test_thread_rule_on_the_demo_snapshot(first: Run) -> None:
    rows = processed(first.ws, first.report.snapshot_id)
    threads: dict[int, list[dict[str, Any]]] = {}
    for row in rows.values():
        threads.setdefault(row["thread_id"], []).append(row)
    min_posts = KeywordFilter.from_toml().min_posts
    kept_by_first = kept_by_count = dropped = 0
    for posts in threads.values():
        posts.sort(key=lambda r: r["floor"])
        first_match = posts[0]["matched"]
        count = sum(r["matched"] for r in posts)
        keep = first_match or count >= min_posts
        assert {r["kept"] for r in posts} == {keep}
        kept_by_first += first_match
        kept_by_count += keep and not first_match
        dropped += not keep
    assert kept_by_first and dropped
    summary = first.report.summary
    assert summary["threads_kept"] == kept_by_first + kept_by_count
    assert summary["posts_kept"] == sum(r["kept"] for r in rows.values())


def test_rerun_reuses_work_and_yields_the_same_snapshot(first: Run) -> None:
    store = ArchiveStore(first.ws.store_url)
    try:
        with store.session() as s:
            before = s.scalar(select(func.count(ProcessedPost.id)))
            ids_before = set(s.scalars(select(ProcessedPost.id)))
        again = run_process(first.ws)
        with store.session() as s:
            assert s.scalar(select(func.count(ProcessedPost.id))) == before
            assert set(s.scalars(select(ProcessedPost.id))) == ids_before
            assert s.scalar(select(func.count(Snapshot.id))) == 1
    finally:
        store.close()
    assert again.snapshot_id == first.report.snapshot_id and again.snapshot_reused
    assert again.posts_processed == 0 and again.posts_reused == first.report.summary["posts_in"]
    assert again.summary == first.report.summary
    assert first.report.posts_processed == first.report.summary["posts_in"]


def test_pseudonyms_same_with_the_same_key_and_differ_with_another(
        first: Run, archive, tmp_path: Path) -> None:
    same = new_workspace(tmp_path, "same-key", archive[0], key_from=first.ws)
    other = new_workspace(tmp_path, "other-key", archive[0])
    same_report, other_report = run_process(same), run_process(other)
    assert same_report.posts_processed == same_report.summary["posts_in"]  # no shared cache
    a = processed(first.ws, first.report.snapshot_id)
    b = processed(same, same_report.snapshot_id)
    c = processed(other, other_report.snapshot_id)
    assert {pid: r["pseudonym"] for pid, r in a.items()} == \
        {pid: r["pseudonym"] for pid, r in b.items()}
    assert {pid: r["text"] for pid, r in a.items()} == {pid: r["text"] for pid, r in b.items()}
    assert same_report.settings_hash == first.report.settings_hash
    assert other_report.settings_hash != first.report.settings_hash
    codes_a = {r["pseudonym"] for r in a.values()}
    pairs = {(pid, a[pid]["pseudonym"], c[pid]["pseudonym"]) for pid in a}
    differ = sum(x != y for _, x, y in pairs)
    assert differ >= 0.9 * len(pairs)
    assert len(codes_a) == len({r["pseudonym"] for r in c.values()})
    key = (first.ws.root / KEY_FILE)
    assert key.stat().st_mode & 0o077 == 0 and len(key.read_bytes()) == 32


def test_filters_make_new_snapshots_from_cached_work(first: Run, archive) -> None:
    corpus = archive[1]
    fid = corpus["boards"][0]["fid"]
    in_board = [p for t in corpus["threads"] if t["fid"] == fid for p in t["posts"]
                if not p.get("moderation")]
    report = run_process(first.ws, boards=(fid,))
    assert report.summary["posts_in"] == len(in_board) > 0
    assert report.posts_processed == 0  # every post was processed under the same settings
    assert report.snapshot_id != first.report.snapshot_id and not report.snapshot_reused
    since = datetime(2024, 1, 1, tzinfo=UTC)
    recent = [p for p in visible_posts(corpus) if datetime.fromisoformat(p["time"]) >= since]
    assert run_process(first.ws, since=since).summary["posts_in"] == len(recent)


def test_kwic_sample_is_anonymised_and_reproducible(first: Run, archive) -> None:
    store = ArchiveStore(first.ws.store_url)
    try:
        with store.session() as s:
            snap = s.get(Snapshot, first.report.snapshot_id)
            kwic, summary, params = snap.kwic, snap.summary, snap.params
    finally:
        store.close()
    assert kwic and set(kwic) <= set(KeywordFilter.from_toml().names)
    values = [s["value"] for p in visible_posts(archive[1]) for s in p["pii"]]
    for concept, lines in kwic.items():
        assert 0 < len(lines) <= 20 and summary["kwic_seen"][concept] >= len(lines)
        for line in lines:
            hit = re.search("【(.+?)】", line["line"])
            assert hit is not None
            assert not any(v in line["line"] for v in values)
    assert set(params["steps"]) == {"normalise", "language", "anonymise", "segment", "keywords"}
    assert params["steps"]["keywords"]["version"] == first.report.keywords_version


def small_archive(store: ArchiveStore) -> None:
    """Three threads for the thread rule (keyword 贴牌, min_posts 2)."""
    site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
    store.ensure_board(site, 2, "b", None)

    def post(pid: int, floor: int, text: str) -> ParsedPost:
        return ParsedPost(pid=pid, floor=floor, floor_label=None, author=f"会员{pid}",
                          author_uid=pid, time=datetime(2024, 5, 1, 8, floor, tzinfo=UTC),
                          time_raw="", time_method=TimeMethod.ABSOLUTE, text=text,
                          html=f"<p>{text}</p>")

    threads = {
        1: ["我们是贴牌工厂", "天气不错", "顶"],  # first post matches: kept
        2: ["请教一个问题", "贴牌利润低", "贴牌也难做"],  # two replies match: kept
        3: ["请教一个问题", "贴牌利润低", "顶"],  # one reply only: dropped
    }
    for tid, texts in threads.items():
        posts = [post(tid * 10 + i, i + 1, t) for i, t in enumerate(texts)]
        store.save_thread_page(site, ThreadPage(tid=tid, fid=2, subject="s", page=1,
                                                last_page=1, generation=Generation.X3,
                                                posts=posts), None, 2)


def small_keywords(folder: Path) -> str:
    keywords = folder / "kw.toml"
    keywords.write_text('[thread]\nmin_posts = 2\n[concepts.oem]\nany = ["贴牌"]\n',
                        encoding="utf-8")
    return str(keywords)


def kept_threads(store: ArchiveStore, snapshot_id: int) -> dict[int, bool]:
    kept: dict[int, bool] = {}
    with store.session() as s:
        for tid, flag in s.execute(
            select(Thread.tid, SnapshotPost.kept)
            .join(ProcessedPost, ProcessedPost.id == SnapshotPost.processed_post_id)
            .join(Thread, Thread.id == ProcessedPost.thread_id)
            .where(SnapshotPost.snapshot_id == snapshot_id)
        ):
            kept[tid] = kept.get(tid, False) or flag
    return kept


def test_thread_rule_first_post_or_n_posts(tmp_path: Path, prefect_env) -> None:
    ws = Workspace.resolve(tmp_path / "ws").create()
    store = ArchiveStore(ws.store_url)
    small_archive(store)
    report = run_process(ws, keywords=small_keywords(tmp_path))
    kept = kept_threads(store, report.snapshot_id)
    store.close()
    assert kept == {1: True, 2: True, 3: False}
    assert report.summary["threads_kept"] == 2 and report.summary["posts_kept"] == 6
    assert report.summary["concept_hits"] == {"oem": 4}
    assert report.summary["keyword_hits"] == {"贴牌": 4}


def test_flow_on_postgresql(tmp_path: Path, prefect_env, postgres_url: str,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.store.archive import make_engine
    from pipeline.store.models import Base

    engine = make_engine(postgres_url)
    Base.metadata.drop_all(engine)  # one server per session: start empty
    engine.dispose()
    monkeypatch.setenv("LURKER_STORE_URL", postgres_url)
    ws = Workspace.resolve(tmp_path / "ws").create()
    store = ArchiveStore(postgres_url)
    try:
        small_archive(store)
        keywords = small_keywords(tmp_path)
        report = run_process(ws, keywords=keywords)
        assert kept_threads(store, report.snapshot_id) == {1: True, 2: True, 3: False}
        again = run_process(ws, keywords=keywords)
        assert again.snapshot_id == report.snapshot_id and again.posts_processed == 0
        assert again.posts_reused == report.summary["posts_in"] == 9
    finally:
        store.close()


def test_cli_process_with_two_workers_and_kwic(first: Run, archive, tmp_path: Path) -> None:
    ws = new_workspace(tmp_path, "cli", archive[0], key_from=first.ws)
    result = lurker("process", "--workers", "2", workspace=ws.root)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for word in ("normalise", "language", "anonymise", "segment", "keywords", "languages:",
                 "replacements by type:", "keyword hits", "snapshot 1 (new"):
        assert word in out, out
    assert "Traceback" not in result.stderr and "INFO" not in result.stderr
    # The run's own Prefect server, stopped as the command ended, recorded every step's task
    # run with its final state: its recorder writes in batches and flushes them on stopping.
    import sqlite3

    with sqlite3.connect(ws.root / "prefect" / "prefect.db") as con:
        states = dict(con.execute("SELECT name, state_type FROM task_run"))
        events = {name for (name,) in con.execute("SELECT DISTINCT event FROM events")}
    # Its events were stored, but no flow-run heartbeat: the engine joins the heartbeat's
    # sleeping thread when a run ends, which would add up to 1 s to every run (prefect_env).
    assert {"prefect.flow-run.Running", "prefect.flow-run.Completed"} <= events, events
    assert "prefect.flow-run.heartbeat" not in events, events
    batches: dict[str, set[int]] = {}
    for name in states:
        step, number = name.rsplit("-", 1)
        batches.setdefault(step, set()).add(int(number))
    assert set(batches) == {"normalise", "language", "anonymise", "segment", "keywords"}
    assert all(numbers == set(range(len(batches["normalise"]))) for numbers in batches.values())
    assert set(states.values()) == {"COMPLETED"}
    # Every step's characters are counted with workers as in one process (the workers hold
    # the records, so the flow counts what it sees of them alike in both).
    for step in ("normalise", "language", "anonymise", "segment", "keywords"):
        row = re.search(rf"\b{step}\b\W+([\d,]+)\W+([\d,]+)", out)
        assert row is not None, out
        chars = int(row.group(2).replace(",", ""))
        assert chars > 0 and chars == first.report.step_chars[step], (step, out)
    log_file = Path(re.search(r"log: (\S+)", out).group(1))
    logged = log_file.read_text(encoding="utf-8")
    assert "run parameters" in logged and "summary" in logged
    assert not any(p["author"] in logged for p in visible_posts(archive[1]))
    # Two workers give the same corpus as one, the thread subjects too, though with workers
    # they are processed beside the last batches (their codes still issued after every post's).
    subjects = assert_same_corpus(first, ws, 1)
    assert any(code for _, code in subjects.values())
    concept = next(iter(first.report.summary["concept_hits"]))
    shown = lurker("process", "--show-kwic", concept, workspace=ws.root)
    assert shown.returncode == 0 and "【" in shown.stdout and f"concept {concept}" in shown.stdout
    unknown = lurker("process", "--show-kwic", "no-such-concept", workspace=ws.root)
    assert unknown.returncode == 2 and "no KWIC sample" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    missing = lurker("process", workspace=tmp_path / "nothing")
    assert missing.returncode == 2 and "no archive" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_user_mistakes_are_one_line(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path / "ws").create()
    ArchiveStore(ws.store_url).close()
    bad = tmp_path / "bad.toml"
    bad.write_text('[concepts.x]\nany = "unterminated', encoding="utf-8")
    listed = lurker("process", "--keywords", str(bad), workspace=ws.root)
    assert listed.returncode == 2 and f"keyword list {bad}" in listed.stderr
    key = ws.root / KEY_FILE
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    exposed = lurker("process", workspace=ws.root)
    assert exposed.returncode == 2 and "chmod 600" in exposed.stderr
    for result in (listed, exposed):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2  # one message, wrapped at most once


def test_prefect_records_runs_in_the_workspace_without_secrets(first: Run, archive) -> None:
    import sqlite3
    import time

    db = first.ws.root / "prefect" / "prefect.db"
    assert db.exists()  # PREFECT_HOME is inside the workspace
    deadline = time.monotonic() + 30  # task runs are recorded from events, shortly after
    while True:
        with sqlite3.connect(db) as con:
            flows = [json.loads(p) for (p,) in con.execute("SELECT parameters FROM flow_run")]
            tasks = {n for (n,) in con.execute("SELECT name FROM task_run")}
        if any(n.startswith("keywords-") for n in tasks) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert any(p.get("workspace") == str(first.ws.root) for p in flows)
    assert {"normalise-0", "language-0", "anonymise-0", "segment-0", "keywords-0"} <= tasks
    raw = db.read_bytes() + b"".join(
        f.read_bytes() for f in db.parent.glob("prefect.db-wal") if f.exists())
    key = (first.ws.root / KEY_FILE).read_bytes()
    assert key not in raw and key.hex().encode() not in raw
    authors = {p["author"] for t in archive[1]["threads"] for p in t["posts"]}
    # Chinese names only: Latin ones such as "admin" occur in Prefect's own tables.
    chinese = [a for a in authors if re.search("[\u4e00-\u9fff]", a)]
    assert chinese and [a for a in chinese if a.encode() in raw] == []


def test_demo_continues_through_processing(tmp_path: Path) -> None:
    result = lurker("demo", workspace=tmp_path / "demo")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "crawl run 1: finished" in result.stdout
    assert re.search(r"snapshot 1 \(new", result.stdout), result.stdout[-2000:]
    ws = Workspace.resolve(tmp_path / "demo")
    store = ArchiveStore(ws.store_url)
    try:
        with store.session() as s:
            texts = list(s.scalars(select(ProcessedPost.text)))
            authors = set(s.scalars(select(Post.author).distinct())) - {None}
    finally:
        store.close()
    assert len(texts) > 1000
    joined = "\n".join(texts)
    assert [a for a in authors if len(a) >= 2 and a in joined] == []


def recrawl_post(pid: int, floor: int, author: str, text: str) -> ParsedPost:
    return ParsedPost(pid=pid, floor=floor, floor_label=None, author=author, author_uid=pid,
                      time=datetime(2024, 6, 1, 8, floor, tzinfo=UTC), time_raw="",
                      time_method=TimeMethod.ABSOLUTE, text=text, html=f"<p>{text}</p>")


def save_thread(store: ArchiveStore, tid: int, posts: list[ParsedPost],
                subject: str = "s") -> None:
    site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
    store.ensure_board(site, 2, "b", None)
    store.save_thread_page(site, ThreadPage(tid=tid, fid=2, subject=subject, page=1,
                                            last_page=1, generation=Generation.X3,
                                            posts=posts), None, 2)


def snapshot_rows(store: ArchiveStore, snapshot_id: int) -> dict[int, tuple[int, str, str]]:
    """pid -> (processed row id, author pseudonym, text)."""
    with store.session() as s:
        return {pid: (pp.id, pp.author_pseudonym, pp.text) for pid, pp in s.execute(
            select(Post.pid, ProcessedPost)
            .join(ProcessedPost, ProcessedPost.post_id == Post.id)
            .join(SnapshotPost, SnapshotPost.processed_post_id == ProcessedPost.id)
            .where(SnapshotPost.snapshot_id == snapshot_id))}


def test_recrawl_with_new_authors_keeps_every_pseudonym(tmp_path: Path, prefect_env) -> None:
    from pipeline.store.corpus import PseudonymEntry

    ws = Workspace.resolve(tmp_path / "ws").create()
    store = ArchiveStore(ws.store_url)
    try:
        save_thread(store, 1, [
            recrawl_post(11, 1, "会员甲", "我们是贴牌工厂"),
            recrawl_post(12, 2, "会员乙", "听说laozhao88也做贴牌"),  # not an author yet
            recrawl_post(13, 3, "会员丙", "顶 @外人丁 你好"),  # a mention of a non-author
        ])
        save_thread(store, 2, [recrawl_post(21, 1, "会员甲", "天气不错"),
                               recrawl_post(22, 2, "会员丙", "同意")])
        keywords = small_keywords(tmp_path)
        first = run_process(ws, keywords=keywords)
        before = snapshot_rows(store, first.snapshot_id)
        assert "laozhao88" in before[12][2]  # unknown then: nothing to detect
        outsider = re.search(r"@([A-Z]{2,4})", before[13][2]).group(1)
        # The weekly re-crawl: a new thread by two new authors, one of them the mentioned one.
        save_thread(store, 3, [recrawl_post(31, 1, "laozhao88", "我们也做贴牌，欢迎询价"),
                               recrawl_post(32, 2, "外人丁", "谢谢 @会员甲"),
                               recrawl_post(33, 3, "会员乙", "laozhao88 你好")])
        second = run_process(ws, keywords=keywords)
        after = snapshot_rows(store, second.snapshot_id)
        with store.session() as s:
            register = s.execute(select(PseudonymEntry.name_mac, PseudonymEntry.code)).all()
    finally:
        store.close()
    # 3 new posts, and the two earlier posts that hold a newly known name; 3 rows reused.
    assert (second.posts_processed, second.posts_reused) == (5, 3)
    assert second.settings_hash == first.settings_hash
    for pid in (11, 21, 22):
        assert after[pid] == before[pid]  # the very same row
    for pid in (12, 13):  # redone (a new row; the first snapshot keeps the old one)
        assert after[pid][0] != before[pid][0] and after[pid][1] == before[pid][1]
    assert after[13][2] == before[13][2]  # the mention already had the code it keeps
    codes = {pid: code for pid, (_, code, _) in after.items()}
    assert {pid: codes[pid] for pid in before} == {pid: c for pid, (_, c, _) in before.items()}
    assert codes[32] == outsider  # the mentioned person keeps the code first written for them
    assert codes[31] not in {c for _, c, _ in before.values()} | {outsider}
    texts = "\n".join(text for _, _, text in after.values())
    assert "laozhao88" not in texts and "外人丁" not in texts
    assert f"听说{codes[31]}也做贴牌" in after[12][2] and after[33][2].startswith(codes[31])
    assert f"@{codes[11]}" in after[32][2]
    # The register holds every name once, by keyed hash only.
    names = ("会员甲", "会员乙", "会员丙", "外人丁", "laozhao88")
    assert len(register) == len({c for _, c in register}) == len(names)
    assert not any(n in mac for n in names for mac, _ in register)


def test_thread_subjects_are_normalised_and_anonymised(tmp_path: Path, prefect_env) -> None:
    from pipeline.process.store_io import snapshot_subjects

    ws = Workspace.resolve(tmp_path / "ws").create()
    store = ArchiveStore(ws.store_url)
    try:
        save_thread(store, 1, [recrawl_post(11, 1, "东莞老王", "我们是贴牌工厂"),
                               recrawl_post(12, 2, "宁波小李", "顶")],
                    subject="东莞老王　求购贴牌，手机13812345678 找宁波小李")
        keywords = small_keywords(tmp_path)
        report = run_process(ws, keywords=keywords)
        rows = snapshot_rows(store, report.snapshot_id)
        subjects = snapshot_subjects(store, report.snapshot_id)
        assert run_process(ws, keywords=keywords).snapshot_id == report.snapshot_id
        # An edited subject (a re-crawl) makes another snapshot; the first one keeps its own.
        save_thread(store, 1, [recrawl_post(11, 1, "东莞老王", "我们是贴牌工厂"),
                               recrawl_post(12, 2, "宁波小李", "顶")], subject="新标题 @宁波小李")
        edited = run_process(ws, keywords=keywords)
        assert edited.snapshot_id != report.snapshot_id and edited.posts_processed == 0
        assert snapshot_subjects(store, report.snapshot_id) == subjects
        new_subjects = snapshot_subjects(store, edited.snapshot_id)
    finally:
        store.close()
    [(tid, (subject, author_code))] = subjects.items()
    wang, li = rows[11][1], rows[12][1]
    # Widths folded (the ideographic space), details replaced, names become the same codes.
    assert subject == f"{wang} 求购贴牌，手机[手机] 找{li}"
    assert author_code == wang
    assert new_subjects == {tid: (f"新标题 @{li}", wang)}


def test_subjects_are_read_a_batch_of_threads_at_a_time(first: Run, archive, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays flat as the archive's threads grow: the subjects are read, processed and
    written `batch_size` threads at a time, and give what one slice gives."""
    from pipeline.process import store_io

    ws = new_workspace(tmp_path, "slices", archive[0], key_from=first.ws)
    ws.config_file.write_text("[process]\nbatch_size = 100\n", encoding="utf-8")
    read: list[int] = []
    thread_subjects = store_io.thread_subjects

    def reading(store: ArchiveStore, thread_ids: list[int]) -> list[Any]:
        read.append(len(thread_ids))
        return thread_subjects(store, thread_ids)

    monkeypatch.setattr(store_io, "thread_subjects", reading)
    report = run_process(ws)
    threads = first.report.summary["threads_in"]
    assert threads > 300 and sum(read) == threads
    assert len(read) == -(-threads // 100) and max(read) == 100
    # Subjects in slices of 100 threads and posts in batches of 100: the same corpus.
    assert len(assert_same_corpus(first, ws, report.snapshot_id)) == threads


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_batches_read_quotes_back_on_both_databases(backend: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    """The quotes column is read as text and decoded only when a post quotes somebody."""
    from pipeline.process.store_io import Filters, iter_batches
    from pipeline.store.archive import make_engine
    from pipeline.store.models import Base
    from spiders.parsers.model import QuoteRef

    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path / 'q.sqlite'}"
    store = ArchiveStore(url)
    try:
        site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
        store.ensure_board(site, 2, "b", None)
        quote = QuoteRef(pid=11, author="会员11", time_raw="2024-5-1 08:01", time=None,
                         text="贴牌利润低")
        posts = [ParsedPost(pid=10 + n, floor=n, floor_label=None, author=f"会员{10 + n}",
                            author_uid=n, time=datetime(2024, 5, 1, 8, n, tzinfo=UTC),
                            time_raw="", time_method=TimeMethod.ABSOLUTE, text=f"第{n}楼",
                            html=f"<p>第{n}楼</p>", quotes=[quote] if n == 2 else [])
                 for n in (1, 2)]
        store.save_thread_page(site, ThreadPage(tid=1, fid=2, subject="s", page=1,
                                                last_page=1, generation=Generation.X3,
                                                posts=posts), None, 2)
        records = [r for batch in iter_batches(store, Filters(), 10) for r in batch]
    finally:
        store.close()
    assert [r.floor for r in records] == [1, 2]
    assert records[0].raw_quotes == []
    assert len(records[1].raw_quotes) == 1
    assert records[1].raw_quotes[0]["author"] == "会员11"
    assert records[1].raw_quotes[0]["text"] == "贴牌利润低"


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live descendant of `root` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                try:
                    found[pid] = (Path(f"/proc/{pid}/cmdline").read_bytes()
                                  .replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    continue
                frontier.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"  # a zombie has ended


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_killed_process_run_leaves_no_server_or_worker_behind(archive, tmp_path: Path
                                                                ) -> None:
    """SIGKILL skips Prefect's exit hook, which stops its temporary API server: a watchdog
    stops the server instead, and the forkserver and its workers end with their parent."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from pipeline.process.prefect_env import SERVER_MARK

    ws = new_workspace(tmp_path, "killed", archive[0])
    env = {k: v for k, v in os.environ.items() if k != "LURKER_HOME"}
    run = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "process", "--workers", "2",
                            "--workspace", str(ws.root)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env)
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            seen.update(_descendants(run.pid))
            server = [pid for pid, cmd in seen.items() if SERVER_MARK in cmd]
            workers = [pid for pid, cmd in seen.items() if "forkserver" in cmd]
            # The server is up and the prestarted workers were forked (forkserver + 2).
            if server and len(workers) >= 3 and (ws.root / "prefect" / "prefect.db").exists():
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before it could be killed"
        assert server and len(workers) >= 3, seen
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        watched = [pid for pid, cmd in seen.items()
                   if SERVER_MARK in cmd or "forkserver" in cmd]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in watched):
            time.sleep(0.1)
        left = {pid: seen[pid][:120] for pid in watched if _alive(pid)}
        assert left == {}
    finally:
        if run.poll() is None:
            run.kill()
        for pid in seen:  # never leave a process of this test running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
