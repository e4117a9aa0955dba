"""A post's message as a token stream the templates turn into Discuz! markup.

Discuz builds a message from BBCode: an optional edit note (`[i=s] 本帖最后由 … 编辑 [/i]`),
an optional `[quote]`, then the words; every line break becomes `<br />`, and with `jammer` on
each break first gets a random invisible string (function_discuzcode.php jammer()). Keeping the
message as tokens lets the templates escape every scraped string themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

Token = dict[str, Any]


@dataclass
class Jammer:
    """The noise Discuz hides after line breaks; `seo` strings are the site name and host."""

    rng: random.Random
    seo: tuple[str, ...] = ()

    def noise(self) -> str:
        # chr(32..59) . ' ' . chr(63..126), 5 to 15 times: never '<', '=' or '>'.
        parts = [chr(self.rng.randint(32, 59)) + " " + chr(self.rng.randint(63, 126))
                 for _ in range(self.rng.randint(5, 15))]
        extra = self.rng.choice(self.seo) if self.seo and self.rng.random() < 0.3 else ""
        return extra + "".join(parts)

    def brk(self) -> Token:
        # Half the breaks carry the noise before <br />, half after it (mt_rand(0, 1)).
        return {"t": "br", "j": self.rng.choice(("font", "span")), "n": self.noise()}


def plain_break() -> Token:
    return {"t": "br", "j": None, "n": ""}


def lines(text: str, brk: Any) -> list[Token]:
    out: list[Token] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(brk())
        if line:
            out.append({"t": "text", "v": line})
    return out


def message(post: dict[str, Any], *, quote_href: str | None, quote_time: str | None,
            edit_time: str | None, jammer: Jammer | None) -> list[Token]:
    """Tokens for one post: edit note, quote, then the post's own lines."""
    brk = jammer.brk if jammer else plain_break
    out: list[Token] = []
    if post.get("edited"):
        out += [{"t": "edit", "by": post["edited"]["by"], "time": edit_time}, brk(), brk()]
    quote = post.get("quote")
    if quote:
        out.append({"t": "quote", "pid": quote["pid"], "author": quote["author"],
                    "time": quote_time, "href": quote_href,
                    "tokens": [brk(), *lines(quote["text"], brk)]})
    return out + lines(post["text"], brk)
