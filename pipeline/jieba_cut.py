"""jieba's accurate mode (HMM on), token for token, with fewer Python operations per character.

Segmentation is most of the processing flow's time, and most of jieba's own time is spent in
`get_DAG` + `calc` (every dictionary prefix at every position, then the best route) and in the
generators that hand tokens through three layers. `CutTokenizer.cut_list` computes the same
route in one right-to-left pass over the same dictionary (`FREQ`, `total`) and collects the
tokens into one list; runs the dictionary does not join go through jieba's HMM with jieba's
model (`finalseg.start_P/trans_P/emit_P`), by `hmm_cut`, a Viterbi with back pointers.

Same output, not merely similar: every score is the same floating-point expression evaluated
in the same order as in `Tokenizer.calc` (`log(freq or 1) - log(total) + best[next]`) and
`finalseg.viterbi`, and ties are broken as `max()` over `(score, ...)` tuples breaks them there.
`tests/test_jieba_cut.py` compares both with jieba on the bundled corpus and on random text
(and fails when any tie rule is changed). jieba is pinned (0.42.1, its last release); `cut`
in its other modes is jieba's own.
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
# Those of its HMM, `jieba.finalseg.cut` (Han runs; Latin letters and numbers).
_HMM_HAN = finalseg.re_han
_HMM_SKIP = finalseg.re_skip


class CutTokenizer(jieba.Tokenizer):
    """A `jieba.Tokenizer` whose accurate-mode `cut` (HMM on) runs `cut_list`."""

    loaded_by: int | None = None  # pid of the process that read the dictionary (a forkserver's)

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
            hmm_cut(buf, out)
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


# --- jieba's HMM for runs of characters the dictionary does not join (`finalseg.cut`) --------


def hmm_cut(text: str, out: list[str]) -> None:
    """`out.extend(jieba.finalseg.cut(text))`."""
    force_split = finalseg.Force_Split_Words
    for block in _HMM_HAN.split(text):
        if _HMM_HAN.match(block):
            for word in _hmm_words(block):
                if word in force_split:
                    out.extend(word)
                else:
                    out.append(word)
        else:
            out.extend(part for part in _HMM_SKIP.split(block) if part)


def _hmm_words(block: str) -> list[str]:
    """`finalseg.__cut`: the Viterbi path over B(egin) M(iddle) E(nd) S(ingle), then words.

    As `finalseg.viterbi`, with back pointers instead of copied paths: each score is
    `(previous + transition) + emission` in that order, and of two equal scores the state
    with the larger letter wins (what `max()` over `(score, state)` tuples picks there).
    """
    start, trans, emit, floor = finalseg.start_P, finalseg.trans_P, finalseg.emit_P, \
        finalseg.MIN_FLOAT
    em_b, em_m, em_e, em_s = emit["B"].get, emit["M"].get, emit["E"].get, emit["S"].get
    t_eb, t_sb = trans["E"].get("B", floor), trans["S"].get("B", floor)
    t_mm, t_bm = trans["M"].get("M", floor), trans["B"].get("M", floor)
    t_ss, t_es = trans["S"].get("S", floor), trans["E"].get("S", floor)
    t_be, t_me = trans["B"].get("E", floor), trans["M"].get("E", floor)
    first = block[0]
    v_b = start["B"] + em_b(first, floor)
    v_m = start["M"] + em_m(first, floor)
    v_e = start["E"] + em_e(first, floor)
    v_s = start["S"] + em_s(first, floor)
    back: list[tuple[str, str, str, str]] = []  # per position: best previous of B, M, E, S
    for char in block[1:]:
        e = em_b(char, floor)
        b1, b2 = v_e + t_eb + e, v_s + t_sb + e  # B after E or S: a tie goes to S
        nb, pb = (b1, "E") if b1 > b2 else (b2, "S")
        e = em_m(char, floor)
        m1, m2 = v_m + t_mm + e, v_b + t_bm + e  # M after M or B: a tie goes to M
        nm, pm = (m1, "M") if m1 >= m2 else (m2, "B")
        e = em_s(char, floor)
        s1, s2 = v_s + t_ss + e, v_e + t_es + e  # S after S or E: a tie goes to S
        ns, ps = (s1, "S") if s1 >= s2 else (s2, "E")
        e = em_e(char, floor)
        e1, e2 = v_b + t_be + e, v_m + t_me + e  # E after B or M: a tie goes to M
        ne, pe = (e1, "B") if e1 > e2 else (e2, "M")
        back.append((pb, pm, pe, ps))
        v_b, v_m, v_e, v_s = nb, nm, ne, ns
    state = "E" if v_e > v_s else "S"  # the last character ends a word
    states = [state]
    slot = {"B": 0, "M": 1, "E": 2, "S": 3}
    for pointers in reversed(back):
        state = pointers[slot[state]]
        states.append(state)
    states.reverse()
    words: list[str] = []
    begin = following = 0
    for i, state in enumerate(states):
        if state == "B":
            begin = i
        elif state == "E":
            words.append(block[begin:i + 1])
            following = i + 1
        elif state == "S":
            words.append(block[i])
            following = i + 1
    if following < len(block):
        words.append(block[following:])
    return words
