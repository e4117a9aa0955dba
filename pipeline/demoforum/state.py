"""The demo forum's live content: the corpus, time-shifted to "now", and mutable under a lock.

Times are shifted once, at load, by whole seconds (server now − corpus anchor), so the newest
posts are always minutes old and render as relative dates. Everything is kept in served time;
mutations take served times too. Readers get copies, so a page is rendered from one consistent
snapshot even while a test adds replies from another thread.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

Clock = Callable[[], datetime]
Post = dict[str, Any]
Thread = dict[str, Any]
MODERATION = ("banned", "author_banned", "hidden", "deleted")
EXCERPT = 40  # characters of a quoted post shown inside the blockquote


def make_clock(now: datetime | Clock | None, tz: timezone) -> Clock:
    """A fixed datetime freezes the forum's clock (tests); None follows the wall clock."""
    if now is None:
        return lambda: datetime.now(tz).replace(microsecond=0)
    if isinstance(now, datetime):
        fixed = now.astimezone(tz).replace(microsecond=0)
        return lambda: fixed
    return lambda: now().astimezone(tz).replace(microsecond=0)


def excerpt(text: str, size: int = EXCERPT) -> str:
    flat = " ".join(text.split("\n"))
    return flat if len(flat) <= size else flat[:size] + "..."


class ForumState:
    """Boards, users and threads of one running forum. All public methods are thread-safe."""

    def __init__(self, corpus: dict[str, Any], now: datetime | Clock | None = None,
                 shows_seconds: Callable[[int], bool] = lambda fid: True) -> None:
        self.site: dict[str, Any] = dict(corpus["site"])
        self.tz = timezone(timedelta(hours=self.site.get("timeoffset", 8)))
        self.clock = make_clock(now, self.tz)
        anchor = datetime.fromisoformat(corpus["anchor"])
        self.shift = timedelta(seconds=int((self.clock() - anchor).total_seconds()))
        # Which boards print post times with seconds (X3) or only minutes (D7, D4): the truth
        # must not ask a crawler for precision the page never showed.
        self.shows_seconds = shows_seconds
        self._meta = {k: corpus[k] for k in ("format", "seed") if k in corpus}
        self._lock = threading.RLock()
        self.boards: list[dict[str, Any]] = [dict(b) for b in corpus["boards"]]
        self.users: dict[int, str] = {u["uid"]: u["username"] for u in corpus["users"]}
        self._threads: dict[int, Thread] = {}
        self._posts: dict[int, tuple[Thread, Post]] = {}
        self._live: dict[int, str | None] = {}  # moderation set at runtime: always rendered
        for raw in corpus["threads"]:
            thread = {k: v for k, v in raw.items() if k != "posts"}
            thread["posts"] = [self._load_post(p) for p in raw["posts"]]
            self._index(thread)

    # --- loading ---------------------------------------------------------------------------

    def _served(self, iso: str) -> datetime:
        return datetime.fromisoformat(iso).astimezone(self.tz) + self.shift

    def _load_post(self, raw: Post) -> Post:
        post = copy.deepcopy(raw)
        post["time"] = self._served(raw["time"])
        if post.get("quote"):
            post["quote"]["time"] = self._served(raw["quote"]["time"])
        if post.get("edited"):
            post["edited"]["time"] = self._served(raw["edited"]["time"])
        return post

    def _index(self, thread: Thread) -> None:
        self._threads[thread["tid"]] = thread
        for post in thread["posts"]:
            self._posts[post["pid"]] = (thread, post)

    # --- reading ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def board(self, fid: int) -> dict[str, Any] | None:
        return next((dict(b) for b in self.boards if b["fid"] == fid), None)

    def thread(self, tid: int) -> Thread | None:
        """A copy of the thread with its posts (each post a copy too)."""
        with self._lock:
            t = self._threads.get(tid)
            return None if t is None else self._copy(t)

    def board_threads(self, fid: int) -> list[Thread]:
        """Discuz's list order: sticky first, then last post time, newest first (no posts)."""
        with self._lock:
            rows = [self._summary(t) for t in self._threads.values() if t["fid"] == fid]
        return sorted(rows, key=lambda t: (not t["sticky"], -t["lastpost"].timestamp(),
                                           -t["tid"]))

    def board_stats(self) -> dict[int, dict[str, Any]]:
        """Per board: threads, posts, today's posts and the last-posted thread (forum index)."""
        today = self.now().replace(hour=0, minute=0, second=0)
        stats: dict[int, dict[str, Any]] = {
            b["fid"]: {"threads": 0, "posts": 0, "today": 0, "last": None} for b in self.boards}
        with self._lock:
            for t in self._threads.values():
                s = stats.setdefault(t["fid"], {"threads": 0, "posts": 0, "today": 0,
                                                "last": None})
                s["threads"] += 1
                s["posts"] += len(t["posts"])
                s["today"] += sum(p["time"] >= today for p in t["posts"])
                if s["last"] is None or t["posts"][-1]["time"] > s["last"]["lastpost"]:
                    s["last"] = self._summary(t)
        return stats

    def moderation(self, post: Post, corpus_on: bool) -> str | None:
        """What a post renders as: runtime moderation always, corpus moderation if switched on."""
        with self._lock:
            if post["pid"] in self._live:
                return self._live[post["pid"]]
        return post.get("moderation") if corpus_on else None

    def _summary(self, t: Thread) -> Thread:
        first, last = t["posts"][0], t["posts"][-1]
        out = {k: v for k, v in t.items() if k != "posts"}
        out.update(replies=len(t["posts"]) - 1, author=first["author"],
                   author_uid=first["author_uid"], dateline=first["time"],
                   lastpost=last["time"], lastposter=last["author"])
        return out

    def _copy(self, t: Thread) -> Thread:
        out = self._summary(t)
        out["posts"] = [copy.deepcopy(p) for p in t["posts"]]
        return out

    # --- mutations (tests make the forum move) ---------------------------------------------

    def _username(self, uid: int) -> str:
        if uid not in self.users:
            raise KeyError(f"no user {uid}")
        return self.users[uid]

    def add_reply(self, tid: int, author_uid: int, text: str, quote_pid: int | None = None,
                  at: datetime | None = None) -> int:
        with self._lock:
            thread = self._threads[tid]
            quote = None
            if quote_pid is not None:
                _, q = self._posts[quote_pid]
                quote = {"pid": q["pid"], "author": q["author"], "time": q["time"],
                         "text": excerpt(q["text"])}
            pid = max(self._posts) + 1
            thread["posts"].append(self._new_post(pid, len(thread["posts"]) + 1, author_uid,
                                                  text, at, quote))
            self._posts[pid] = (thread, thread["posts"][-1])
            return pid

    def new_thread(self, fid: int, author_uid: int, subject: str, text: str,
                   at: datetime | None = None) -> int:
        with self._lock:
            if self.board(fid) is None:
                raise KeyError(f"no board {fid}")
            tid = max(self._threads) + 1
            pid = max(self._posts) + 1
            thread = {"tid": tid, "fid": fid, "subject": subject, "theme": None,
                      "sticky": False, "views": 1, "review": False,
                      "posts": [self._new_post(pid, 1, author_uid, text, at, None)]}
            self._index(thread)
            return tid

    def _new_post(self, pid: int, floor: int, uid: int, text: str, at: datetime | None,
                  quote: dict[str, Any] | None) -> Post:
        return {"pid": pid, "floor": floor, "author_uid": uid, "author": self._username(uid),
                "time": self._at(at), "text": text, "lang": "en" if text.isascii() else "zh",
                "quote": quote, "edited": None, "moderation": None, "pii": []}

    def _at(self, at: datetime | None) -> datetime:
        return (at.astimezone(self.tz) if at else self.clock()).replace(microsecond=0)

    def edit_post(self, pid: int, new_text: str, at: datetime | None = None) -> None:
        with self._lock:
            _, post = self._posts[pid]
            post["text"] = new_text
            post["pii"] = []  # the planted offsets no longer point into the text
            post["edited"] = {"by": post["author"], "time": self._at(at)}

    def delete_post(self, pid: int) -> None:
        """The floor stays, as Discuz's 无效楼层 placeholder; reply count does not change."""
        self.moderate(pid, "deleted")

    def moderate(self, pid: int, status: str | None) -> None:
        if status is not None and status not in MODERATION:
            raise ValueError(f"moderation must be one of {MODERATION} or None, got {status!r}")
        with self._lock:
            if pid not in self._posts:
                raise KeyError(f"no post {pid}")
            self._live[pid] = status

    # --- ground truth ----------------------------------------------------------------------

    def truth(self) -> dict[str, Any]:
        """The served forum in the CORPUS.md format, at the precision the pages print.

        Post times keep seconds where the board's markup prints them (X3) and are cut to the
        minute elsewhere; quote and edit times are printed to the minute everywhere.
        Runtime moderation replaces a post's corpus `moderation` field.
        """
        with self._lock:
            threads = [self._truth_thread(t) for t in sorted(self._threads.values(),
                                                             key=lambda t: t["tid"])]
        return {**self._meta, "anchor": self.now().isoformat(), "site": dict(self.site),
                "boards": [dict(b) for b in self.boards],
                "users": [{"uid": u, "username": n} for u, n in self.users.items()],
                "threads": threads}

    def _truth_thread(self, t: Thread) -> Thread:
        seconds = self.shows_seconds(t["fid"])
        out = {k: copy.deepcopy(v) for k, v in t.items() if k != "posts"}
        out["posts"] = []
        for p in t["posts"]:
            post = copy.deepcopy(p)
            post["time"] = iso(p["time"], seconds)
            if post.get("quote"):
                post["quote"]["time"] = iso(p["quote"]["time"], False)
            if post.get("edited"):
                post["edited"]["time"] = iso(p["edited"]["time"], False)
            if p["pid"] in self._live:
                post["moderation"] = self._live[p["pid"]]
            out["posts"].append(post)
        return out


def iso(dt: datetime, seconds: bool) -> str:
    return (dt if seconds else dt.replace(second=0)).isoformat()
