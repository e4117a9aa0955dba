"""Per-server switches for the real-forum quirks the demo forum can reproduce.

Each switch is independent, so a test can turn on exactly the behaviour it exercises. Behaviours
every real Discuz! has (last page for a page past the end, 404 for a missing thread, robot and
mobile user agents) are always on and have no switch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Quirks:
    jammer: bool = False  # anti-copy noise after line breaks (function_discuzcode.php jammer())
    moderation: bool = False  # corpus `moderation` fields render as Discuz's locked messages
    error_pages: bool = False  # `review: true` threads answer an HTTP-200 #messagetext page
    login_board: bool = False  # `login_required` boards answer a #messagelogin wall to guests
    waf_min_interval: float | None = None  # BT-WAF challenge when one client comes back sooner
    list_page_cap: int = 1000  # threadmaxpages: list pages above it are sent back to page 1
    url_noise: bool = False  # &sid=XXXXXX on D7 links, &extra=page%3DN on X3 links
    robots_txt: bool = False  # Discuz's shipped robots.txt (off: /robots.txt is a 404)

    @classmethod
    def none(cls) -> Quirks:
        """A well-behaved forum: every quirk off."""
        return cls()

    @classmethod
    def demo(cls) -> Quirks:
        """What `lurker demo` serves: everything a polite crawler meets, but no rate limit."""
        return cls(jammer=True, moderation=True, error_pages=True, login_board=True,
                   url_noise=True, robots_txt=True)

    @classmethod
    def all(cls) -> Quirks:
        """Everything on, including a WAF that punishes requests less than 0.5 s apart."""
        return cls(jammer=True, moderation=True, error_pages=True, login_board=True,
                   waf_min_interval=0.5, url_noise=True, robots_txt=True)

    @classmethod
    def named(cls, name: str) -> Quirks:
        """`demo`, `none` or `all` (the CLI's --quirks values)."""
        presets = {"demo": cls.demo, "none": cls.none, "all": cls.all}
        if name not in presets:
            raise ValueError(f"quirks must be one of {', '.join(presets)}, got {name!r}")
        return presets[name]()

    def describe(self) -> str:
        default = Quirks()
        on = [f"{f.name}={getattr(self, f.name)}" if not isinstance(getattr(self, f.name), bool)
              else f.name
              for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)]
        return ", ".join(on) or "none"
