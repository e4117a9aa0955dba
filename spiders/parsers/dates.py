"""Discuz! dates (dgmdate()) back to timezone-aware datetimes.

Precedence (reference §1.9): the `<span title>` absolute time, else absolute text, else relative
text (`3 天前`, `昨天 08:15`, `半小时前`, `刚刚`, …) resolved against the fetch time in the site's
UTC offset, because relative text is relative to when the page was generated. A date-only title
(list creation dates) with `昨天 HH:MM` text is combined into one datetime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from spiders.parsers.model import TimeMethod

ABSOLUTE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?"
)
# Simplified and Traditional builds (小時前 / 分鐘前 / 剛剛); the number may be missing for 半.
AGO = re.compile(r"^(\d+)\s*(秒|分钟|分鐘|小时|小時|天)前$")
HALF_HOUR = re.compile(r"^半\s*(小时|小時)前$")
JUST_NOW = re.compile(r"^(刚刚|剛剛)$")
DAY_CLOCK = re.compile(r"^(昨天|前天)\s*(\d{1,2}):(\d{2})$")
UNIT_SECONDS = {"秒": 1, "分钟": 60, "分鐘": 60, "小时": 3600, "小時": 3600}


@dataclass(frozen=True, slots=True)
class ParsedTime:
    value: datetime | None  # timezone-aware, in the site's offset
    raw: str  # what the page printed (text, and the title when there was one)
    method: TimeMethod


def site_tz(utc_offset: float) -> timezone:
    return timezone(timedelta(hours=utc_offset))


def normalise(text: str | None) -> str:
    """Discuz separates relative dates with U+00A0; collapse every whitespace run to one space."""
    return " ".join((text or "").replace("\u00a0", " ").split())


def parse_absolute(text: str, tz: timezone) -> tuple[datetime, bool] | None:
    """`2024-3-2 08:18:40`, `2024-03-02 08:18`, `2024-3-2`: the datetime, and whether it had
    a time of day."""
    m = ABSOLUTE.search(text)
    if m is None:
        return None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    hour, minute, second = (int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz), m[4] is not None
    except ValueError:  # 2024-2-30 and the like: not a date
        return None


def _aware(fetch_time: datetime) -> datetime:
    return fetch_time if fetch_time.tzinfo is not None else fetch_time.replace(tzinfo=UTC)


def parse_relative(text: str, fetch_time: datetime, tz: timezone) -> tuple[datetime, bool] | None:
    """Relative text resolved against the fetch time; whether it fixed the time of day.

    `N 天前` only says which day (dgmdate: N = whole days since midnight + 1), so it resolves to
    that day's midnight and reports no time of day.
    """
    now = _aware(fetch_time).astimezone(tz).replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    if JUST_NOW.match(text):
        return now, True
    if HALF_HOUR.match(text):
        return now - timedelta(minutes=30), True
    if m := DAY_CLOCK.match(text):
        days = 1 if m[1] == "昨天" else 2
        hour, minute = int(m[2]), int(m[3])
        if hour > 23 or minute > 59:
            return None
        return (today - timedelta(days=days)).replace(hour=hour, minute=minute), True
    if m := AGO.match(text):
        n, unit = int(m[1]), m[2]
        if unit == "天":
            return today - timedelta(days=n), False
        return now - timedelta(seconds=n * UNIT_SECONDS[unit]), True
    return None


def resolve(title: str | None, text: str | None, fetch_time: datetime | None,
            utc_offset: float) -> ParsedTime:
    """One displayed date (`text`, with its `<span title>` if any) as an absolute time."""
    tz = site_tz(utc_offset)
    shown = normalise(text)
    title_n = normalise(title)
    raw = f"{shown} [{title_n}]" if title_n and title_n != shown else (shown or title_n)
    from_title = parse_absolute(title_n, tz) if title_n else None
    relative = (parse_relative(shown, fetch_time, tz)
                if fetch_time is not None and shown else None)
    if from_title is not None:
        value, has_time = from_title
        if not has_time and relative is not None and relative[1]:
            # Date-only title, `昨天 08:15` text: the day from the title, the clock from the text.
            clock = relative[0]
            value = value.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
        return ParsedTime(value, raw, TimeMethod.TITLE)
    absolute = parse_absolute(shown, tz) if shown else None
    if absolute is not None:
        return ParsedTime(absolute[0], raw, TimeMethod.ABSOLUTE)
    if relative is not None:
        return ParsedTime(relative[0], raw, TimeMethod.RELATIVE)
    return ParsedTime(None, raw, TimeMethod.NONE)
