"""jieba's accurate mode (HMM on), token for token, with fewer Python operations per character.

Segmentation is most of the processing flow's time, and most of jieba's own time is spent in
`get_DAG` + `calc` (every dictionary prefix at every position, then the best route) and in the
generators that hand tokens through three layers. `CutTokenizer.cut_list` computes the same
route in one right-to-left pass over the same dictionary (`FREQ`, `total`) and collects the
tokens into one list; unknown runs go to jieba's own HMM (`jieba.finalseg.cut`) as in jieba.

Same output, not merely similar: every score is the same floating-point expression evaluated
in the same order as in `Tokenizer.calc` (`log(freq or 1) - log(total) + best[next]`), and ties
go to the longer word as `max()` over `(score, end)` tuples does there. `tests/test_jieba_cut.py`
compares it with `jieba.Tokenizer.cut` on the bundled corpus and on random text. jieba is
pinned (0.42.1, its last release); `cut` with other modes falls through to jieba.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import log
from typing import Any

import jieba
from jieba import finalseg

# jieba's own block patterns (jieba.re_han_default / re_skip_default), used as jieba does.
_RE_HAN = jieba.re_han_default
_RE_SKIP = jieba.re_skip_default


class CutTokenizer(jieba.Tokenizer):
    """A `jieba.Tokenizer` whose accurate-mode `cut` (HMM on) runs `cut_list`."""

    def cut(self, sentence: Any, cut_all: bool = False, HMM: bool = True,  # noqa: N803 - jieba's
            use_paddle: bool = False) -> Iterator[str]:
        if cut_all or not HMM or use_paddle:
            return super().cut(sentence, cut_all=cut_all, HMM=HMM, use_paddle=use_paddle)
        return iter(self.cut_list(jieba.strdecode(sentence)))

    def cut_list(self, sentence: str) -> list[str]:
        """`list(jieba.Tokenizer.cut(sentence))` in accurate mode with HMM."""
        self.check_initialized()
        out: list[str] = []
        match_han = _RE_HAN.match
        for block in _RE_HAN.split(sentence):
            if not block:
                continue
            if match_han(block):
                self._cut_block(block, out)
            else:
                for part in _RE_SKIP.split(block):
                    if _RE_SKIP.match(part):
                        out.append(part)
                    else:
                        out.extend(part)  # jieba yields the other characters one by one
        return out

    def _cut_block(self, block: str, out: list[str]) -> None:
        """jieba's `__cut_DAG` on one block: best route, then single characters in a row
        are joined and, unless they form a dictionary word, cut by the HMM."""
        n = len(block)
        ends = self._route(block)
        append = out.append
        buf = ""
        x = 0
        while x < n:
            y = ends[x] + 1
            if y - x == 1:
                buf += block[x]
            else:
                if buf:
                    self._flush(buf, out)
                    buf = ""
                append(block[x:y])
            x = y
        if buf:
            self._flush(buf, out)

    def _flush(self, buf: str, out: list[str]) -> None:
        if len(buf) == 1:
            out.append(buf)
        elif not self.FREQ.get(buf):
            out.extend(finalseg.cut(buf))
        else:
            out.extend(buf)

    def _route(self, block: str) -> list[int]:
        """End index of the best first word at each position (jieba's `route[x][1]`).

        Right to left: when position k is reached, the best scores from k+1 on are known, so
        each dictionary word starting at k is scored as soon as the prefix scan finds it.
        """
        freq_get = self.FREQ.get
        logtotal = log(self.total)
        n = len(block)
        best = [0.0] * (n + 1)
        ends = [0] * n
        for k in range(n - 1, -1, -1):
            top: float | None = None
            end = k
            i = k
            f = freq_get(block[k])
            while f is not None:  # the fragment is a word or a prefix of one
                if f:
                    score = log(f) - logtotal + best[i + 1]
                    if top is None or score >= top:  # ascending ends: ties to the longer
                        top, end = score, i
                i += 1
                if i >= n:
                    break
                f = freq_get(block[k:i + 1])
            if top is None:  # no word starts here: the character alone, freq "or 1"
                top = log(freq_get(block[k]) or 1) - logtotal + best[k + 1]
            best[k] = top
            ends[k] = end
        return ends
