"""Dates as Discuz! prints them: `dgmdate()` (source/function/function_core.php), guest view.

Absolute forms use PHP's `Y-n-j H:i:s` (no zero padding on month and day). With `dateconvert`
on, anything within the last 7 days becomes relative text wrapped in `<span title=ABSOLUTE>`,
except in the touch view (IN_MOBILE), which prints the relative text alone. The separator in
relative text is `&nbsp;`, so a `Shown` keeps the two halves apart for the template to join.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DATE = "Y-n-j"
MINUTE = "Y-n-j H:i"
SECOND = "Y-n-j H:i:s"


@dataclass(frozen=True)
class Shown:
    """One printed date: `head&nbsp;tail` (or `head` alone), with an optional title."""

    head: str
    tail: str | None = None
    title: str | None = None

    @property
    def text(self) -> str:
        return self.head if self.tail is None else f"{self.head}\u00a0{self.tail}"


def php_date(dt: datetime, fmt: str) -> str:
    """The handful of PHP date letters Discuz's default formats use."""
    out = {
        "Y": f"{dt.year:04d}", "n": str(dt.month), "j": str(dt.day), "m": f"{dt.month:02d}",
        "d": f"{dt.day:02d}", "H": f"{dt.hour:02d}", "i": f"{dt.minute:02d}",
        "s": f"{dt.second:02d}",
    }
    return "".join(out.get(ch, ch) for ch in fmt)


def absolute(dt: datetime, fmt: str = MINUTE) -> Shown:
    return Shown(php_date(dt, fmt))


def relative(dt: datetime, now: datetime, fmt: str = MINUTE, mobile: bool = False) -> Shown:
    """dgmdate($timestamp, 'u', 9999, $fmt): relative within 7 days, absolute before that.

    `dt` and `now` must be in the site's time offset: "today" starts at its midnight.
    """
    full = php_date(dt, fmt)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    ago = int((now - dt).total_seconds())
    if dt >= today:
        if ago > 3600:
            shown = Shown(str(ago // 3600), "小时前")
        elif ago > 1800:
            shown = Shown("半小时前")
        elif ago > 60:
            shown = Shown(str(ago // 60), "分钟前")
        elif ago > 0:
            shown = Shown(str(ago), "秒前")
        elif ago == 0:
            shown = Shown("刚刚")
        else:  # a future time: Discuz prints it absolute, without a title
            return Shown(full)
    else:
        days = (today - dt) // timedelta(days=1)
        if days >= 7:
            return Shown(full)
        if days == 0:
            shown = Shown("昨天", php_date(dt, "H:i"))
        elif days == 1:
            shown = Shown("前天", php_date(dt, "H:i"))
        else:
            shown = Shown(str(days + 1), "天前")
    return shown if mobile else Shown(shown.head, shown.tail, full)
