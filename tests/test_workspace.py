"""The workspace holds personal data: all that lurker writes there is for its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from pipeline.demoforum.quirks import Quirks
from tests.conftest import lurker


def test_everything_written_is_owner_only(forum_factory, tmp_path: Path):
    forum = forum_factory(markup="x3", quirks=Quirks.none())
    ws = tmp_path / "ws"
    result = lurker("crawl", "--url", forum.url, "--max-threads", "3", workspace=ws)
    assert result.returncode == 0, result.stdout + result.stderr
    written = [p for p in ws.rglob("*")]
    files = [p for p in written if p.is_file()]
    assert any(p.name == "lurker.sqlite" for p in files)
    assert any(p.suffix == ".gz" for p in files), "WARC files were written"
    loose = [f"{p.relative_to(ws)} {stat.filemode(p.stat().st_mode)}"
             for p in [ws, *written] if p.stat().st_mode & 0o077]
    assert loose == []
