"""End to end: `lurker crawl` (a real subprocess) against the demo forum over loopback."""

from __future__ import annotations

import dataclasses
import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from pipeline.demoforum.quirks import Quirks
from pipeline.store.models import Board, CrawlRun, Fetch, Thread
from tests.archive_view import archived_posts, compare, truth_posts
from tests.conftest import REPO, lurker, thread_requests


def crawl(forum, ws: Path, *extra: str):
    result = lurker("crawl", "--url", forum.url, *extra, workspace=ws)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def rows(ws: Path, model):
    engine = create_engine(f"sqlite:///{ws / 'lurker.sqlite'}")
    with Session(engine) as s:
        out = s.scalars(select(model)).all()
    engine.dispose()
    return out


@pytest.mark.parametrize("markup", ["x3", "d7", "d4"])
def test_crawl_matches_ground_truth(forum_factory, tmp_path, markup):
    forum = forum_factory(markup=markup, quirks=Quirks.none())
    result = crawl(forum, tmp_path)
    assert "finished" in result.stdout
    problems = compare(archived_posts(tmp_path), truth_posts(forum.state.truth()))
    assert problems == [], "\n".join(problems[:30])


def test_demo_quirks_are_recorded_not_parsed(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.demo())
    crawl(forum, tmp_path)
    truth = forum.state.truth()
    login_fids = {b["fid"] for b in truth["boards"] if b.get("login_required")}
    assert login_fids, "the demo corpus has a login-only board"
    archived = archived_posts(tmp_path)
    expected = truth_posts(truth, skip_fids=login_fids, skip_review=True)
    # Moderated floors carry their status, not text; every other post matches exactly.
    moderated = {pid for pid, p in expected.items() if p["moderation"]}
    assert moderated
    plain = {pid: p for pid, p in expected.items() if pid not in moderated}
    problems = compare({k: v for k, v in archived.items() if k in plain}, plain)
    assert problems == [], "\n".join(problems[:30])
    status_of = {"banned": "banned", "author_banned": "banned", "hidden": "hidden",
                 "deleted": "deleted"}
    for pid in moderated:
        want = status_of[expected[pid]["moderation"]]
        got = [p for p in archived.values()
               if p["tid"] == expected[pid]["tid"] and p["floor"] == expected[pid]["floor"]]
        assert got and got[0]["status"] == want, (pid, want, got)
        assert got[0]["text"] == ""
    boards = {b.fid: b for b in rows(tmp_path, Board)}
    for fid in login_fids:
        assert boards[fid].status == "login"
    review_tids = {t["tid"] for t in truth["threads"] if t.get("review")}
    threads = {t.tid: t for t in rows(tmp_path, Thread)}
    for tid in review_tids:
        assert threads[tid].status == "error"
    kinds = {f.page_kind for f in rows(tmp_path, Fetch)}
    assert {"login", "error", "robots"} <= kinds


def test_recrawl_incremental_request_counts(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    crawl(forum, tmp_path)
    first = len(archived_posts(tmp_path))

    forum.reset_log()
    crawl(forum, tmp_path)
    assert thread_requests(forum) == [], "an unchanged forum needs no thread page"
    list_requests = [r for r in forum.requests if r.kind == "list"]
    boards = len(forum.state.truth()["boards"])
    assert len(list_requests) <= boards, "each board list is read once, down to the mark"

    # Three new replies to a long thread: only the page(s) that hold them are fetched.
    truth = forum.state.truth()
    long_thread = max(truth["threads"], key=lambda t: len(t["posts"]))
    tid, n_posts = long_thread["tid"], len(long_thread["posts"])
    uid = truth["users"][0]["uid"]
    for i in range(3):
        forum.state.add_reply(tid, uid, f"新的回复 {i}：最近订单又少了")
    forum.reset_log()
    crawl(forum, tmp_path)
    ppp = truth["site"]["ppp"]
    old_last, new_last = -(-n_posts // ppp), -(-(n_posts + 3) // ppp)
    fetched_pages = sorted(int(r.query.get("page", "1")) for r in forum.requests
                           if r.kind == "thread")
    assert fetched_pages == list(range(old_last, new_last + 1))
    assert len(archived_posts(tmp_path)) == first + 3


def test_edits_and_deletions_become_versions(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    crawl(forum, tmp_path)
    truth = forum.state.truth()
    thread = next(t for t in truth["threads"] if 3 <= len(t["posts"]) <= 9)
    edited, deleted = thread["posts"][1], thread["posts"][2]
    forum.state.edit_post(edited["pid"], "我改一下：这个价格其实还能再谈")
    forum.state.delete_post(deleted["pid"])
    crawl(forum, tmp_path, "--full")
    archived = archived_posts(tmp_path)
    assert archived[edited["pid"]]["versions"] == 2
    assert archived[edited["pid"]]["text"] == "我改一下：这个价格其实还能再谈"
    assert archived[deleted["pid"]]["status"] == "deleted"
    assert archived[deleted["pid"]]["versions"] == 2
    # The earlier text is kept as version 1: nothing is overwritten.
    from pipeline.store.models import Post, PostVersion
    engine = create_engine(f"sqlite:///{tmp_path / 'lurker.sqlite'}")
    with Session(engine) as s:
        post = s.scalar(select(Post).where(Post.pid == deleted["pid"]))
        texts = [v.text for v in s.scalars(select(PostVersion).where(
            PostVersion.post_id == post.id).order_by(PostVersion.version))]
    engine.dispose()
    assert texts == [deleted["text"], ""]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_crawl_resumes_without_gaps_or_duplicates(forum_factory, tmp_path, sig):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    cmd = [sys.executable, "-m", "pipeline.cli", "crawl", "--url", forum.url,
           "--workspace", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(thread_requests(forum)) < 60 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    partial = archived_posts(tmp_path)
    truth = truth_posts(forum.state.truth())
    assert 0 < len(partial) < len(truth)
    crawl(forum, tmp_path)
    problems = compare(archived_posts(tmp_path), truth)
    assert problems == [], "\n".join(problems[:30])
    runs = rows(tmp_path, CrawlRun)
    assert runs[0].status == ("killed" if sig == signal.SIGKILL else "interrupted")
    assert runs[-1].status == "finished"


def test_every_response_is_in_warc_with_provenance(forum_factory, tmp_path):
    forum = forum_factory(markup="d4", quirks=Quirks.none())
    crawl(forum, tmp_path, "--max-threads", "5")
    fetches = rows(tmp_path, Fetch)
    by_id = {f.warc_record_id: f for f in fetches}
    seen = {}
    for warc in sorted((tmp_path / "warc").rglob("*.warc.gz")):
        with warc.open("rb") as fh:
            for record in ArchiveIterator(fh):
                kind = record.rec_type
                seen.setdefault(kind, 0)
                seen[kind] += 1
                if kind == "response":
                    rid = record.rec_headers.get_header("WARC-Record-ID")
                    body = record.content_stream().read()
                    fetch = by_id[rid]
                    assert hashlib.sha256(body).hexdigest() == fetch.body_sha256
    assert seen["response"] == len(fetches) >= 8
    assert seen["request"] == seen["response"] == seen["metadata"]
    assert seen["warcinfo"] >= 1
    assert {f.encoding for f in fetches if f.page_kind == "content"} == {"gb18030"}


def test_bad_url_and_broken_config_are_one_line_errors(tmp_path):
    result = lurker("crawl", "--url", "ftp://nowhere", workspace=tmp_path)
    assert result.returncode == 2
    assert "not an http(s) URL" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    (tmp_path / "lurker.toml").write_text("[crawl\nuser_agent = 1", encoding="utf-8")
    result = lurker("crawl", "--url", "http://127.0.0.1:9/", workspace=tmp_path)
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_real_site_needs_a_contact(tmp_path):
    result = lurker("crawl", "--site", "fob", workspace=tmp_path)
    assert result.returncode == 2
    assert "contact" in result.stderr


def test_status_prints_counts(forum_factory, tmp_path):
    forum = forum_factory(markup="d7", quirks=Quirks.none())
    crawl(forum, tmp_path, "--boards", str(forum.state.truth()["boards"][0]["fid"]))
    result = lurker("status", workspace=tmp_path)
    assert result.returncode == 0, result.stderr
    posts = len(archived_posts(tmp_path))
    assert f"posts {posts}" in result.stdout
    assert "last crawl run 1: finished" in result.stdout


def test_waf_page_triggers_backoff(forum_factory, tmp_path):
    quirks = dataclasses.replace(Quirks.none(), waf_min_interval=0.25)
    forum = forum_factory(markup="x3", quirks=quirks)
    (tmp_path / "lurker.toml").write_text(
        "[crawl]\nwaf_backoff_start = 0.4\nwaf_backoff_max = 1.0\nrandomize_delay = false\n",
        encoding="utf-8",
    )
    fid = forum.state.truth()["boards"][0]["fid"]
    crawl(forum, tmp_path, "--boards", str(fid), "--max-threads", "4")
    kinds = [f.page_kind for f in rows(tmp_path, Fetch)]
    assert 1 <= kinds.count("waf") <= 3, "back-off stops the WAF pages quickly"
    # After the first WAF page every request respects the back-off interval.
    served = list(forum.requests)
    first_waf = next(i for i, r in enumerate(served) if r.kind == "waf")
    gaps = [b.time - a.time for a, b in zip(served[first_waf:], served[first_waf + 1:],
                                            strict=False)]
    assert gaps and min(gaps) >= 0.3
    assert len(archived_posts(tmp_path)) > 0


def test_touch_view_is_detected_and_avoided(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    # "used" contains "sed", one of Discuz's mobile substrings (reference §7).
    (tmp_path / "lurker.toml").write_text(
        '[crawl]\nuser_agent = "lurker test, used for research ({contact})"\n', encoding="utf-8")
    fid = forum.state.truth()["boards"][0]["fid"]
    crawl(forum, tmp_path, "--boards", str(fid), "--max-threads", "3")
    kinds = [f.page_kind for f in rows(tmp_path, Fetch)]
    assert "touch" in kinds
    truth = truth_posts(forum.state.truth())
    archived = archived_posts(tmp_path)
    assert archived
    assert compare(archived, {pid: truth[pid] for pid in archived}) == []


def test_robot_user_agent_floors_still_right(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    (tmp_path / "lurker.toml").write_text(
        '[crawl]\nuser_agent = "lurkerbot/0.1 ({contact})"\n', encoding="utf-8")
    fid = forum.state.truth()["boards"][0]["fid"]
    crawl(forum, tmp_path, "--boards", str(fid))
    truth = truth_posts(forum.state.truth())
    archived = archived_posts(tmp_path)
    assert len(archived) > 50
    assert compare(archived, {pid: truth[pid] for pid in archived}) == []


def test_robots_txt_is_obeyed(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=dataclasses.replace(Quirks.none(), robots_txt=True))
    crawl(forum, tmp_path, "--max-threads", "10")
    paths = [r.path + "?" + "&".join(f"{k}={v}" for k, v in r.query.items())
             for r in forum.requests]
    assert paths[0].startswith("/robots.txt")
    for p in paths:
        assert "mod=redirect" not in p and "mod=attachment" not in p and "mod=post" not in p


def test_list_cap_stops_the_walk(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=dataclasses.replace(Quirks.none(), list_page_cap=1))
    truth = forum.state.truth()
    big = max(truth["boards"], key=lambda b: sum(t["fid"] == b["fid"] for t in truth["threads"]))
    crawl(forum, tmp_path, "--boards", str(big["fid"]), "--max-threads", "25")
    lists = [r for r in forum.requests if r.kind == "list"]
    assert len(lists) == 2  # page 1, then page 2 answered with page 1: stop there
    runs = rows(tmp_path, CrawlRun)
    assert runs[-1].stats.get("list_cap_reached") == 1


def test_oversized_pages_are_skipped_and_nothing_stored_is_lost(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    fid = forum.state.truth()["boards"][0]["fid"]
    crawl(forum, tmp_path, "--boards", str(fid), "--max-threads", "5")
    before = archived_posts(tmp_path)
    assert before
    # Every thread page is now "huge": the full re-crawl cuts them off, logs and counts them.
    (tmp_path / "lurker.toml").write_text("[crawl]\nmax_page_bytes = 6000\n", encoding="utf-8")
    result = lurker("crawl", "--url", forum.url, "--boards", str(fid), "--max-threads", "5",
                    "--full", workspace=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = rows(tmp_path, CrawlRun)
    assert runs[-1].stats.get("requests_failed", 0) >= 1
    assert archived_posts(tmp_path) == before


def test_missing_thread_is_a_recorded_404(forum_factory, tmp_path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    missing = max(t["tid"] for t in forum.state.truth()["threads"]) + 1000
    url = f"{forum.url}forum.php?mod=viewthread&tid={missing}"
    result = lurker("crawl", "--url", url, workspace=tmp_path)
    assert result.returncode == 0, result.stderr
    fetches = [f for f in rows(tmp_path, Fetch) if f.page_kind != "robots"]
    assert [(f.http_status, f.page_kind) for f in fetches] == [(404, "error")]
    assert rows(tmp_path, Thread)[0].status == "error"
    assert archived_posts(tmp_path) == {}
