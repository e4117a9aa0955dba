"""The detector's lexicon cache: what it loads is what parsing jieba's dict.txt gives, and a
file that is not ours, not private or damaged is never used."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.anonymise import detect

load = detect.load_lexicon.__wrapped__  # the uncached function: each call loads afresh


@pytest.fixture(scope="module")
def parsed() -> detect.Lexicon:
    return load(None)


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("lurker-lexicon-*.cache"))


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> None:
        raise AssertionError("dict.txt parsed although the cache file is valid")

    monkeypatch.setattr(detect, "_parse_dict", fail)


def test_cached_lexicon_equals_the_parsed_one(tmp_path: Path, parsed: detect.Lexicon,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    first = load(str(tmp_path))  # parses and writes the cache
    [path] = cache_files(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    with monkeypatch.context() as m:
        no_parsing(m)
        cached = load(str(tmp_path))
    for lexicon in (first, cached):
        assert lexicon == parsed
        assert dict(lexicon.entries) == dict(parsed.entries)
        assert list(lexicon.entries.items())[:50] == list(parsed.entries.items())[:50]
        assert lexicon.bigrams == parsed.bigrams
    assert len(parsed.entries) > 10_000 and len(parsed.bigrams) > 10_000
    # The detector built on it finds the same names.
    text = "我是宁波慈溪的王伟，找黄金价格问下李明"
    assert (detect.Detector(detect.load_rules(), cached).find(text)
            == detect.Detector(detect.load_rules(), parsed).find(text))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "format", "empty", "not marshal"])
def test_a_damaged_cache_is_parsed_again_and_replaced(tmp_path: Path, parsed: detect.Lexicon,
                                                      damage: str) -> None:
    load(str(tmp_path))
    [path] = cache_files(tmp_path)
    blob = path.read_bytes()
    magic, digest, payload = blob.split(b"\n", 2)
    if damage == "truncated":
        blob = blob[: len(blob) // 2]
    elif damage == "flipped":
        blob = blob[:-10] + bytes([blob[-10] ^ 1]) + blob[-9:]
    elif damage == "format":
        blob = b"lurker-lexicon/0\n" + digest + b"\n" + payload
    elif damage == "empty":
        blob = b""
    else:
        import hashlib

        junk = b"\xff not marshal data"
        blob = magic + b"\n" + hashlib.sha256(junk).hexdigest().encode() + b"\n" + junk
    path.write_bytes(blob)
    assert detect._read_lexicon_cache(path) is None
    assert load(str(tmp_path)) == parsed
    assert detect._read_lexicon_cache(path) == parsed  # rewritten


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_others_can_write_is_not_read(tmp_path: Path, parsed: detect.Lexicon) -> None:
    load(str(tmp_path))
    [path] = cache_files(tmp_path)
    path.chmod(0o620)
    assert detect._read_lexicon_cache(path) is None
    assert load(str(tmp_path)) == parsed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_cache_key_follows_the_dictionary_and_the_surnames(tmp_path: Path) -> None:
    key = detect.lexicon_cache_path
    assert key(tmp_path, b"a 1 n", "王") == key(tmp_path, b"a 1 n", "王")
    assert key(tmp_path, b"a 1 n", "王") != key(tmp_path, b"a 2 n", "王")
    assert key(tmp_path, b"a 1 n", "王") != key(tmp_path, b"a 1 n", "李")


def test_an_unwritable_cache_folder_still_gives_the_lexicon(tmp_path: Path,
                                                           parsed: detect.Lexicon) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert load(str(blocker / "cache")) == parsed
