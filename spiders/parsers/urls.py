"""Discuz! URLs: ids out of any URL family, and one canonical URL per (board|thread, page).

A page's identity is `(fid, page)` or `(tid, page)`. The third field of a rewritten
`thread-T-P-L.html` (the list page it was linked from) and the parameters below are not part of
it, so two links that differ only there must map to one URL (reference §1.1).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from spiders.parsers.model import Generation

# Session id (D7 without cookies), list position, WAF token, referral and search highlight.
NOISE_PARAMS = frozenset({"sid", "extra", "btwaf", "fromuid", "highlight"})

REWRITE_FORUM = re.compile(r"(?:^|/)forum-(\w+)-(\d+)\.html$")
REWRITE_THREAD = re.compile(r"(?:^|/)thread-(\d+)-(\d+)-(\d+)\.html$")
# Archiver: archiver/?tid-5.html, archiver/tid-5.html, archiver/?fid-2.html (&page=N appended).
ARCHIVER = re.compile(r"(?:^|[/?])(tid|fid)-(\d+)(?:-page-(\d+))?\.html")


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def parse_ids_from_url(url: str) -> dict[str, int | None]:
    """`fid`, `tid`, `page` and `pid` found in a URL of any Discuz family (None when absent).

    `page` is the page of the board or thread itself, never the list page carried in `extra`
    or in the third field of `thread-T-P-L.html`.
    """
    parts = urlsplit(url.strip())
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    ids: dict[str, int | None] = {"fid": None, "tid": None, "page": None, "pid": None}
    if m := REWRITE_THREAD.search(parts.path):
        ids["tid"], ids["page"] = int(m[1]), int(m[2])
        return ids
    if m := REWRITE_FORUM.search(parts.path):
        ids["fid"], ids["page"] = _int(m[1]), int(m[2])  # an alias (forum-flea-1) has no fid
        return ids
    if m := ARCHIVER.search(parts.path + ("?" + parts.query if parts.query else "")):
        ids["tid" if m[1] == "tid" else "fid"] = int(m[2])
        ids["page"] = _int(m[3]) or _int(query.get("page"))
        return ids
    ids["tid"] = _int(query.get("tid"))
    ids["fid"] = _int(query.get("fid"))
    ids["page"] = _int(query.get("page"))
    ids["pid"] = _int(query.get("pid"))
    return ids


def strip_noise(url: str) -> str:
    """The URL without session, WAF and referral parameters (and without a fragment)."""
    parts = urlsplit(url)
    if not parts.query:
        return urlunsplit(parts._replace(fragment=""))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in NOISE_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query, safe="%"), fragment=""))


def canonical_url(url: str) -> str:
    """Noise stripped, and a rewritten thread link pointed at list page 1 (its third field)."""
    clean = strip_noise(url)
    parts = urlsplit(clean)
    if m := REWRITE_THREAD.search(parts.path):
        path = parts.path[: m.start()] + m[0].replace(
            f"thread-{m[1]}-{m[2]}-{m[3]}.html", f"thread-{m[1]}-{m[2]}-1.html")
        return urlunsplit(parts._replace(path=path))
    return clean


def _root(base_url: str) -> str:
    # urljoin resolves against the directory of the path, so "bbs/forum.php?…" keeps "bbs/".
    return urljoin(base_url, ".")


def canonical_board_url(base_url: str, generation: Generation | str, fid: int, page: int) -> str:
    """The one URL lurker uses for list page `page` of board `fid` on a forum of `generation`."""
    gen = Generation(generation)
    if gen is Generation.D4:
        rel = f"forum-{fid}-{page}.html"
    elif gen is Generation.D7:
        rel = f"forumdisplay.php?fid={fid}&page={page}"
    else:
        rel = f"forum.php?mod=forumdisplay&fid={fid}&page={page}"
    return urljoin(_root(base_url), rel)


def canonical_thread_url(base_url: str, generation: Generation | str, tid: int, page: int) -> str:
    """The one URL lurker uses for page `page` of thread `tid` on a forum of `generation`."""
    gen = Generation(generation)
    if gen is Generation.D4:
        rel = f"thread-{tid}-{page}-1.html"
    elif gen is Generation.D7:
        rel = f"viewthread.php?tid={tid}&page={page}"
    else:
        rel = f"forum.php?mod=viewthread&tid={tid}&page={page}"
    return urljoin(_root(base_url), rel)


def uid_from_href(href: str | None) -> int | None:
    """The user id in a profile link: `uid=N` (any family) or rewritten `space-uid-N.html`."""
    if not href:
        return None
    if m := re.search(r"space-uid-(\d+)\.html", href):
        return int(m[1])
    if m := re.search(r"[?&;]uid=(\d+)", href):
        return int(m[1])
    return None
