"""Generate the demo forum's ground-truth corpus (format: CORPUS.md).

    python -m pipeline.demoforum.generate        # writes pipeline/demoforum/data/corpus.json

Posts are composed from the hand-written sentence banks in ``corpus/sentences`` (one file per
theme plus ``common.txt``). Everything is drawn from one ``random.Random(seed)`` in a fixed
order, so the same seed and the same sentence files give byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from random import Random
from typing import Any

from pipeline.demoforum import pii

SEED = 20261124
TZ = timezone(timedelta(hours=8))
ANCHOR = datetime(2026, 11, 20, 12, 0, 0, tzinfo=TZ)
OPENED = datetime(2019, 1, 7, 9, 12, 31, tzinfo=TZ)
QUIET = ANCHOR - timedelta(days=8)  # old threads end before this; the last week is scripted
HERE = Path(__file__).resolve().parent
SENTENCES = HERE / "corpus" / "sentences"
OUTPUT = HERE / "data" / "corpus.json"
TOPICAL = ("price_war", "quality", "ipr", "oem_odm_obm", "rnd_design", "branding", "costs",
           "exchange_rate", "policy")
NOISE = ("freight", "jobs", "ads", "chitchat")
MIN_POSTS = 3700  # acceptance floor is 3,600; keep a margin so small bank edits don't break it
LONG_THREADS = 7  # > 100 posts each: more than 10 pages at ppp=10
EMOJI = ["😂", "👍", "🙏", "🤣", "😭", "💪", "😅", "🙄", "👏", "🤔"]
Bank = dict[str, list[str]]
Post = dict[str, Any]


@dataclass(frozen=True)
class Board:
    fid: int
    name: str
    description: str
    threads: int
    topical: tuple[str, ...]
    noise: tuple[str, ...]  # the first is the board's natural noise theme
    login_required: bool = False


BOARDS = (
    Board(2, "外贸综合", "行情、价格、汇率、政策，外贸人的综合讨论区", 100,
          ("price_war", "exchange_rate", "policy", "costs"), ("ads", "chitchat")),
    Board(36, "工厂与制造", "工厂管理、品质、成本与代工", 90,
          ("quality", "costs", "oem_odm_obm", "price_war"), ("ads", "jobs")),
    Board(41, "品牌与设计", "自主品牌、产品研发设计与知识产权", 80,
          ("branding", "rnd_design", "ipr", "oem_odm_obm"), ("ads",)),
    Board(52, "货代物流", "海运、空运、快递、报关清关", 38, (), ("freight", "ads")),
    Board(60, "招聘求职", "外贸与工厂岗位的招聘和求职", 32, (), ("jobs", "ads")),
    Board(77, "灌水闲聊", "工作之余，随便聊聊", 44, (), ("chitchat", "ads")),
    Board(95, "VIP会员区", "仅限登录会员：深度案例与行业内参", 10,
          ("price_war", "ipr", "exchange_rate", "branding"), ("chitchat",), login_required=True),
)
# A topical theme's weight on the boards it belongs to: themes found on two or three boards
# (price wars, costs) are drawn less often there, so every theme gets a similar thread count.
THEME_WEIGHTS = {"price_war": 0.6, "costs": 0.65, "oem_odm_obm": 0.75, "quality": 1.2,
                 "rnd_design": 1.4, "policy": 1.1, "exchange_rate": 1.0, "branding": 1.25,
                 "ipr": 1.4}


@dataclass
class Skeleton:
    fid: int
    theme: str
    sticky: bool
    size: int
    kind: str = "normal"  # sticky, normal, long, latest, recent, revived_now, dug
    start: datetime = OPENED
    posts: list[Post] = field(default_factory=list)


# --- sentence banks ----------------------------------------------------------------------


REQUIRED = {  # sections generate.py cannot do without (en and zh-Hant fall back to zh)
    False: ("subjects", "openers", "replies"),
    True: ("short", "short_en", "short_hant", "greetings", "closings", "agree", "disagree",
           "ask_back", "thanks", "quote_lead", "quote_lead_en", "mixed", "sticky_subjects",
           "sticky_openers", "sticky_replies"),
}


def parse_bank(text: str) -> Bank:
    bank: Bank = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            bank.setdefault(section, [])
        elif section is not None:
            bank[section].append(line)
    return bank


def load_banks(directory: Path) -> dict[str, Bank]:
    """Every ``<theme>.txt`` in `directory`; ``common.txt`` falls back to the shipped one."""
    banks = {p.stem: parse_bank(p.read_text(encoding="utf-8"))
             for p in sorted(directory.glob("*.txt"))}
    if "common" not in banks:
        banks["common"] = parse_bank((SENTENCES / "common.txt").read_text(encoding="utf-8"))
    for theme, bank in banks.items():
        missing = [s for s in REQUIRED[theme == "common"] if not bank.get(s)]
        if missing:
            raise ValueError(f"{directory / theme}.txt: empty or missing sections {missing}")
    return banks


def deck(rng: Random, items: list[str]) -> Iterator[str]:
    """Endless draws that exhaust a shuffled copy before repeating (fewer duplicate titles)."""
    while True:
        yield from rng.sample(items, len(items))


# --- users -------------------------------------------------------------------------------

PLACES = pii.words("东莞 深圳 广州 佛山 中山 义乌 宁波 温州 台州 苏州 昆山 厦门 泉州 青岛 上海 "
                   "杭州 绍兴 汕头 潮州 江门 惠州 永康 临沂 石狮 晋江 莆田 南通 常州 揭阳 珠海")
NICKS = pii.words("老王 老李 老张 老陈 老刘 小陈 小林 小黄 阿强 阿杰 阿明 阿芳 小丽 老周 老吴 "
                  "阿华 大刘 老杨 小赵 阿伟 老郑 小何")
TRADES = pii.words("小商品 五金 灯饰 家具 陶瓷 模具 服装 鞋业 玩具 箱包 电子 纺织 小家电 卫浴 "
                   "袜业 眼镜 工艺品 包装 塑料 不锈钢 汽配 LED 礼品 户外用品 机械 阀门 轴承")
ROLES = pii.words("外贸 业务员 跟单员 采购 老板娘 打板师 工程师 SOHO 报关员 设计师 QC 厂长")
EN_FIRST = pii.words("Kevin Lucy Tony Jacky Sunny Cindy Amy Jason Eric Linda Coco Vivian Leo "
                     "Frank Mike Grace Helen Jack Rita Sam Alan Emma Winnie Ivy Peter Nancy")
EN_TAIL = pii.words("Ningbo SZ GZ Yiwu DG Xiamen export trade sourcing 88 2008 china")
MISC = pii.words("风中的蒲公英 一只咸鱼 潜水多年 老船长 外贸搬砖工 熬夜的外贸狗 阿里运营小哥 "
                 "淡定的码头 孤独的跟单员 佛系外贸人 默默潜水 一路向西 咖啡加糖 小小外贸女 "
                 "夜猫子 追风少年 半路出家 外贸老炮 码头搬运工 奔跑的蜗牛")
HANT_HANDLES = pii.words("香港貿易佬 台灣小林 高雄阿宏 九龍阿Ken 台中貿易商 新竹工程師 澳門小陳 "
                         "香港採購 台北Amy 桃園做模具的")
STAFF = [(1, "admin"), (7, "版主小鱼")]


def handle(rng: Random) -> tuple[str, str]:
    """A forum handle and the writing style of its owner (zh, en or zh-Hant)."""
    r = rng.random()
    if r < 0.22:
        return rng.choice(PLACES) + rng.choice(NICKS), "zh"
    if r < 0.36:
        suffix = rng.choice(["", "哥", "姐", "厂", "人"])
        return rng.choice(PLACES) + rng.choice(TRADES) + suffix, "zh"
    if r < 0.45:
        stem = rng.choice(["外贸小白", "外贸新人", "跨境新手", "SOHO小白", "外贸菜鸟"])
        return f"{stem}{rng.randrange(2012, 2026)}", "zh"
    if r < 0.58:
        first = rng.choice(EN_FIRST)
        tail, number = rng.choice(EN_TAIL), rng.randrange(1, 999)
        name = rng.choice([f"{first}_{tail}", f"{first.lower()}{number}",
                           f"{first.lower()}export", f"{first}{tail}"])
        return name, "en" if rng.random() < 0.45 else "zh"
    if r < 0.70:
        verb = rng.choice(["做", "搞", "卖"])
        return f"{verb}{rng.choice(TRADES)}的{rng.choice(NICKS)}", "zh"
    if r < 0.80:
        return rng.choice(PLACES) + rng.choice(ROLES), "zh"
    if r < 0.9:
        return rng.choice(MISC) + rng.choice(["", "", str(rng.randrange(1, 99))]), "zh"
    if r < 0.93:
        return rng.choice(HANT_HANDLES) + rng.choice(["", str(rng.randrange(1, 99))]), "zh-Hant"
    city, trade = rng.choice(pii.CITIES), rng.choice(pii.PRODUCTS)
    return f"{city}{trade}{rng.choice(['', str(rng.randrange(2010, 2025))])}", "zh"


@dataclass
class Users:
    rows: list[dict[str, Any]]  # {"uid", "username"}, staff included
    posters: list[int]  # indexes of rows that post normally
    weights: list[float]  # posting weight per poster: a few heavy posters, a long tail
    style: dict[str, str]


def make_users(rng: Random, count: int = 232) -> Users:
    rows = [{"uid": uid, "username": name} for uid, name in STAFF]
    style = {name: "zh" for _, name in STAFF}
    uid = 1000
    while len(rows) < count + len(STAFF):
        name, writes = handle(rng)
        if name in style:
            continue
        uid += rng.randint(1, 400)
        rows.append({"uid": uid, "username": name})
        style[name] = writes
    posters = list(range(len(STAFF), len(rows)))
    rank = rng.sample(range(len(posters)), len(posters))
    weights = [1 / (r + 3) ** 0.9 for r in rank]
    return Users(rows, posters, weights, style)


# --- thread skeletons and times ------------------------------------------------------------


def pick_theme(rng: Random, board: Board, available: list[str]) -> str:
    topical = [t for t in board.topical if t in available]
    noise = [t for t in board.noise if t in available]
    if topical and (not noise or rng.random() > 0.12):
        return rng.choices(topical, [THEME_WEIGHTS.get(t, 1.0) for t in topical])[0]
    if noise:
        return noise[0] if len(noise) == 1 or rng.random() < 0.8 else rng.choice(noise[1:])
    return rng.choice(available)  # a stub sentence dir may lack this board's themes


def thread_size(rng: Random) -> int:
    # Log-normal: most threads get a handful of posts, a few run to dozens.
    while True:
        size = max(1, int(rng.lognormvariate(1.65, 0.95)))
        if size <= 60:
            return size


def plan_threads(rng: Random, available: list[str]) -> list[Skeleton]:
    skeletons = []
    for board in BOARDS:
        stickies = 1 if board.login_required else rng.choice([1, 2])
        sticky_theme = next((t for t in board.noise if t in available), available[0])
        for i in range(board.threads):
            if i < stickies:
                size = rng.randint(2, 12)
                skeletons.append(Skeleton(board.fid, sticky_theme, True, size, "sticky"))
            else:
                skeletons.append(Skeleton(board.fid, pick_theme(rng, board, available), False,
                                          thread_size(rng)))
    assign_kinds(rng, skeletons)
    while sum(s.size for s in skeletons) < MIN_POSTS:
        growable = [s for s in skeletons if s.kind == "normal" and s.size < 30]
        rng.choice(growable).size += 1
    return skeletons


def assign_kinds(rng: Random, skeletons: list[Skeleton]) -> None:
    public = [s for s in skeletons if not s.sticky and s.fid != BOARDS[-1].fid]
    by_board = {b.fid: [s for s in public if s.fid == b.fid] for b in BOARDS[:-1]}
    for fid in (2, 36, 41, 52, 77, 2, 36)[:LONG_THREADS]:
        # nobody replies a hundred times to an advert
        s = rng.choice([s for s in by_board[fid] if s.kind == "normal" and s.theme != "ads"])
        s.kind, s.size = "long", rng.randint(101, 260)
    pool = [s for s in public if s.kind == "normal"]
    rng.shuffle(pool)
    pool[0].kind, pool[0].size = "latest", 14
    for s in pool[1:15]:
        s.kind = "recent"
    for s in pool[15:20]:
        s.kind, s.size = "revived_now", max(s.size, 4)
    rng.choice([s for s in public if s.kind == "long"]).kind = "revived_now"
    for s in pool[20:]:
        if s.size >= 4 and rng.random() < 0.07:
            s.kind = "dug"  # 挖坟: a reply long after the thread went quiet


def at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=int(seconds))


def random_time(rng: Random, lo: datetime, hi: datetime) -> datetime:
    return at(lo, rng.randrange(max(1, int((hi - lo).total_seconds()))))


def fit(offsets: list[int], room: int) -> list[int]:
    """Scale offsets so the last is `room`, keeping them strictly increasing."""
    scaled = [o * room // max(1, offsets[-1]) for o in offsets]
    for i in range(1, len(scaled)):
        scaled[i] = max(scaled[i], scaled[i - 1] + 1)
    return scaled


def burst(rng: Random, start: datetime, count: int, pace: float, end: datetime) -> list[datetime]:
    """`count` post times from `start` (inclusive), squeezed to end before `end` if needed."""
    offsets = [0]
    for i in range(1, count):
        # Flood control keeps replies >= 30 s apart; later replies come slower.
        offsets.append(offsets[-1] + 30 + int(rng.expovariate(1) * pace * min(4, 1 + i / 10)))
    room = int((end - start).total_seconds())
    if offsets[-1] > room:
        offsets = fit(offsets, room)
    return [at(start, o) for o in offsets]


def seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def start_time(rng: Random, s: Skeleton) -> datetime:
    if s.kind == "sticky":
        return random_time(rng, OPENED, OPENED + timedelta(days=60))
    if s.kind == "latest":
        return at(ANCHOR, -rng.randint(4 * 3600, 6 * 3600))
    if s.kind == "recent":
        return random_time(rng, ANCHOR - timedelta(days=7), ANCHOR - timedelta(hours=3))
    if s.size > 100:  # long threads run for months
        return random_time(rng, OPENED + timedelta(days=20), ANCHOR - timedelta(days=500))
    # Revived threads went quiet long before their revival; the forum got busier over the years.
    latest = QUIET - timedelta(days=0 if s.kind == "normal" else 90)
    return at(OPENED, seconds(latest - OPENED) * rng.random() ** 0.85)


def thread_times(rng: Random, s: Skeleton) -> list[datetime]:
    s.start = start_time(rng, s)
    pace = rng.uniform(2400, 30000) if s.size > 100 else math.exp(rng.gauss(math.log(5400), 1.2))
    end = ANCHOR - timedelta(minutes=1)
    if s.kind == "sticky":
        return burst(rng, s.start, s.size, 5 * 86400, QUIET)
    if s.kind == "latest":  # the newest posts: 25 s old at the anchor, and minutes before it
        times = burst(rng, s.start, s.size - 1, 600, ANCHOR)
        room = seconds(ANCHOR - s.start) - rng.randint(5 * 60, 50 * 60)
        offsets = fit([seconds(t - s.start) for t in times], room)
        return [at(s.start, o) for o in offsets] + [at(ANCHOR, -25)]
    if s.kind == "recent":
        return burst(rng, s.start, s.size, min(pace, 7200), end)
    if s.kind in ("revived_now", "dug"):
        split = (rng.randint(max(1, s.size - 6), s.size - 1) if s.kind == "revived_now"
                 else rng.randint(2, s.size - 1))
        before = burst(rng, s.start, split, pace, QUIET - timedelta(days=30))
        if s.kind == "revived_now":
            revival = random_time(rng, ANCHOR - timedelta(days=7), ANCHOR - timedelta(hours=2))
        else:
            lo = before[-1] + timedelta(days=30)
            revival = random_time(rng, lo, max(lo + timedelta(days=1), QUIET))
        return before + burst(rng, revival, s.size - split, 3600, end)
    return burst(rng, s.start, s.size, pace, end)


# --- post text ---------------------------------------------------------------------------

SENTENCE_END = "。！？!?~…）)，,"
LANG_MIX = {  # what a user of each style writes, post by post
    "zh": (("zh", 0.905), ("mixed", 0.065), ("en", 0.02), ("zh-Hant", 0.01)),
    "en": (("en", 0.55), ("mixed", 0.33), ("zh", 0.12)),
    "zh-Hant": (("zh-Hant", 0.85), ("zh", 0.1), ("mixed", 0.05)),
}


def pick(rng: Random, items: list[str], k: int) -> list[str]:
    return rng.sample(items, min(k, len(items)))


def sentence_count(rng: Random) -> int:
    return rng.choices([1, 2, 3, 4, 5, 6], [45, 28, 14, 7, 4, 2])[0]


def pick_lang(rng: Random, style: str, bank: Bank) -> str:
    langs, weights = zip(*LANG_MIX[style], strict=True)
    lang = rng.choices(langs, weights)[0]
    return lang if lang in ("zh", "mixed") or bank.get(lang) else "zh"


def join_zh(rng: Random, parts: list[str]) -> str:
    out = ""
    for part in parts:
        if out and out[-1] not in SENTENCE_END:
            out += rng.choice(["，", " ", "。"])
        out += part
    return out


def join_en(rng: Random, parts: list[str]) -> str:
    return " ".join(parts)


def paragraphs(rng: Random, parts: list[str], lang: str) -> str:
    """Join sentences, breaking longer posts into two or three paragraphs."""
    join = join_en if lang == "en" else join_zh
    if len(parts) <= 2 or rng.random() < 0.3:
        return join(rng, parts)
    cuts = sorted(rng.sample(range(1, len(parts)), min(len(parts) - 1, rng.randint(1, 2))))
    bounds = zip([0, *cuts], [*cuts, len(parts)], strict=True)
    return "\n".join(join(rng, parts[a:b]) for a, b in bounds)


def opener_parts(rng: Random, bank: Bank, common: Bank, lang: str, theme: str) -> list[str]:
    if lang in ("en", "zh-Hant"):
        return pick(rng, bank[lang], rng.randint(2, 4))
    if theme == "ads":  # a spammer pastes one pitch, no small talk
        return pick(rng, bank["openers"], rng.randint(1, 2))
    parts = pick(rng, bank["openers"], rng.choice([1, 2, 2, 3, 3, 4, 5]))
    if lang == "mixed":
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(common["mixed"]))
    if rng.random() < 0.4:
        parts.insert(0, rng.choice(common["greetings"]))
    if rng.random() < 0.45:
        parts.append(rng.choice(common["closings"]))
    return parts


def reply_parts(rng: Random, bank: Bank, common: Bank, lang: str, quoting: bool,
                by_starter: bool) -> list[str]:
    short = rng.random() < (0.08 if quoting else 0.17)
    if lang == "en":
        if short:
            return [rng.choice(common["short_en"])]
        lead = [rng.choice(common["quote_lead_en"])] if quoting and rng.random() < 0.6 else []
        return lead + pick(rng, bank["en"], rng.choice([1, 1, 2, 3]))
    if lang == "zh-Hant":
        return [rng.choice(common["short_hant"])] if short else pick(rng, bank["zh-Hant"],
                                                                     rng.choice([1, 1, 2]))
    if short:
        return [rng.choice(common["short"])]
    parts = []
    if quoting and rng.random() < 0.7:
        parts.append(rng.choice(common["quote_lead"]))
    elif rng.random() < 0.2:
        parts.append(rng.choice(common["agree"] + common["disagree"]))
    if by_starter and rng.random() < 0.5:
        parts.append(rng.choice(common["thanks"]))
    parts += pick(rng, bank["replies"], sentence_count(rng))
    if rng.random() < 0.1:
        parts.append(rng.choice(common["ask_back"]))
    if lang == "mixed":
        extra = rng.choice(common["mixed"] + bank.get("en", [])[:3])
        parts.insert(rng.randrange(len(parts) + 1), extra)
    return parts


TAILS = ["，醉了", "，也是醉了", "。。。", "！！！", "哈哈哈哈", "，呵呵"]


def swap_once(rng: Random, text: str, old: str, new: str) -> str:
    spots = [i for i in range(len(text)) if text.startswith(old, i)]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + new + text[i + len(old):]


def roughen(rng: Random, text: str) -> str:
    """Forum register: slang, 的/得 and 在/再 slips, doubled punctuation."""
    if rng.random() < 0.06:
        text = swap_once(rng, text, "的", "得")
    if rng.random() < 0.05:
        text = swap_once(rng, text, "在", "再")
    if rng.random() < 0.35:
        text = text.replace("没有", "木有", 1)
    if rng.random() < 0.3:
        text = text.replace("什么", "神马", 1)
    r = rng.random()
    if r < 0.1:
        text = rng.choice(["亲，", "老铁，", "楼主，", "兄弟，"]) + text
    r = rng.random()
    if r < 0.05:
        text = text.rstrip("。") + rng.choice(TAILS)
    elif r < 0.08:
        text = text.rstrip("。？") + rng.choice(["？？？", "！！", "。。"])
    return text


def add_emoji(rng: Random, text: str) -> str:
    return text + rng.choice(EMOJI) * rng.choice([1, 1, 1, 2, 3])


def sticky_text(rng: Random, common: Bank, floor: int) -> str:
    if floor == 1:  # the rules stay in order; moderators trim them per board
        rules = common["sticky_openers"]
        keep = sorted(rng.sample(range(len(rules)), max(3, len(rules) - rng.randint(0, 3))))
        return "\n".join(rules[i] for i in keep)
    return rng.choice(common["sticky_replies"] + common["short"][:8])


# --- planted details, quotes, edits --------------------------------------------------------

PII_RATE_START = {"ads": 0.85, "jobs": 0.6, "freight": 0.25}
PII_RATE_REPLY = {"ads": 0.2, "jobs": 0.2, "freight": 0.15}


def pii_kinds(rng: Random, kinds: Iterator[str]) -> list[str]:
    first = next(kinds)
    partners = [b for a, b in pii.PAIRS if a == first] + [a for a, b in pii.PAIRS if b == first]
    if partners and rng.random() < 0.2:
        return [first, rng.choice(partners)]
    return [first]


def plant_pii(rng: Random, text: str, lang: str, kinds: list[str]) -> tuple[str, list[pii.Span]]:
    """Put a contact sentence before, after or at the end of the post."""
    sentence, spans = pii.contact_sentence(rng, kinds, lang)
    r = rng.random()
    if r < 0.15:
        return sentence + "\n" + text, spans
    if r < 0.6:
        sep = "\n"
    elif lang == "en":
        sep = " "
    else:
        sep = "" if text[-1] in SENTENCE_END else "，"
    return text + sep + sentence, [sp.shifted(len(text) + len(sep)) for sp in spans]


def quote_target(rng: Random, posts: list[Post]) -> int | None:
    """Mostly the opening post or one of the last few; never a post with planted details."""
    candidates = [i for i, p in enumerate(posts) if not p["pii"]]
    if not candidates:
        return None
    if candidates[0] == 0 and rng.random() < 0.35:
        return 0
    return rng.choice(candidates[-4:])


def edit_note(rng: Random, author: str, time: datetime) -> dict[str, str] | None:
    if rng.random() >= 0.03:
        return None
    by = author if rng.random() < 0.85 else rng.choice(STAFF)[1]
    when = min(at(time, rng.randint(120, 2 * 86400)), at(ANCHOR, -1))
    return {"by": by, "time": max(when, at(time, 1)).isoformat()}


def excerpt(text: str, size: int = 40) -> str:
    flat = " ".join(text.split("\n"))
    return flat if len(flat) <= size else flat[:size] + "..."


# --- threads -------------------------------------------------------------------------------


def thread_authors(rng: Random, users: Users, s: Skeleton) -> list[int]:
    """Row indexes: the starter comes back now and then; long threads have their regulars."""
    def anyone() -> int:
        return rng.choices(users.posters, users.weights)[0]

    starter = rng.randrange(len(STAFF)) if s.sticky else anyone()
    regulars = [anyone() for _ in range(12)] if s.size > 100 else []
    authors = [starter]
    for _ in range(1, s.size):
        if rng.random() < 0.12 and authors[-1] != starter and not s.sticky:
            authors.append(starter)
        elif regulars and rng.random() < 0.6:
            authors.append(rng.choice(regulars))
        else:
            authors.append(anyone())
    return authors


@dataclass
class Context:
    banks: dict[str, Bank]
    common: Bank
    users: Users
    subjects: dict[str, Iterator[str]]
    kinds: Iterator[str]


def subject_line(rng: Random, ctx: Context, s: Skeleton) -> str:
    if s.sticky:
        return next(ctx.subjects["_sticky"])
    subject = next(ctx.subjects[s.theme])
    r = rng.random()
    if r < 0.08:
        return "【求助】" + subject
    if r < 0.14:
        return "[讨论] " + subject
    if r < 0.18 and subject[-1] not in SENTENCE_END:
        return subject + rng.choice(["（急）", "，在线等", "!!"])
    return subject


def post_text(rng: Random, ctx: Context, s: Skeleton, floor: int, lang: str, quoting: bool,
              by_starter: bool, others: list[str]) -> str:
    if s.sticky:
        return sticky_text(rng, ctx.common, floor)
    bank = ctx.banks[s.theme]
    parts = (opener_parts(rng, bank, ctx.common, lang, s.theme) if floor == 1 else
             reply_parts(rng, bank, ctx.common, lang, quoting, by_starter))
    text = paragraphs(rng, parts, lang)
    if lang in ("zh", "mixed"):
        text = roughen(rng, text)
    if rng.random() < 0.06:
        text = add_emoji(rng, text)
    if floor >= 3 and not quoting and others and rng.random() < 0.08:
        text = f"@{rng.choice(others)} {text}"  # not a planted detail: authors get renamed
    return text


def write_posts(rng: Random, ctx: Context, s: Skeleton) -> None:
    times = thread_times(rng, s)
    authors = [ctx.users.rows[row] for row in thread_authors(rng, ctx.users, s)]
    for i, (user, time) in enumerate(zip(authors, times, strict=True)):
        name = user["username"]
        lang = "zh" if s.sticky else pick_lang(rng, ctx.users.style[name], ctx.banks[s.theme])
        quote = None
        if i and not s.sticky and rng.random() < 0.16:
            quote = quote_target(rng, s.posts)
        others = [p["author"] for p in s.posts if p["author"] != name]
        text = post_text(rng, ctx, s, i + 1, lang, quote is not None,
                         name == authors[0]["username"], others)
        spans: list[pii.Span] = []
        rate = (PII_RATE_START if i == 0 else PII_RATE_REPLY).get(s.theme, 0.06)
        if not s.sticky and rng.random() < rate:
            text, spans = plant_pii(rng, text, lang, pii_kinds(rng, ctx.kinds))
        s.posts.append({
            "pid": 0, "floor": i + 1, "author_uid": user["uid"], "author": name,
            "time": time.isoformat(), "text": text, "lang": lang, "quote": quote,
            "edited": edit_note(rng, name, time), "moderation": None,
            "pii": [sp.to_json() for sp in spans],
        })


def assign_ids(rng: Random, skeletons: list[Skeleton]) -> list[int]:
    """tids follow thread start times, pids follow post times across the forum."""
    tids = {}
    tid = 10000
    for index in sorted(range(len(skeletons)), key=lambda k: skeletons[k].start):
        tid += rng.choice([1, 1, 1, 2, 3])  # gaps: threads deleted long ago
        tids[index] = tid
    posts = [(p["time"], tids[k], p["floor"], p) for k, s in enumerate(skeletons) for p in s.posts]
    pid = 500000
    for *_, post in sorted(posts, key=lambda item: item[:3]):
        pid += rng.choice([1, 1, 1, 1, 2, 3])
        post["pid"] = pid
    return [tids[k] for k in range(len(skeletons))]


def resolve_quotes(posts: list[Post]) -> None:
    for post in posts:
        if post["quote"] is not None:
            q = posts[post["quote"]]
            post["quote"] = {"pid": q["pid"], "author": q["author"], "time": q["time"],
                             "text": excerpt(q["text"])}


def assign_moderation(rng: Random, threads: list[dict[str, Any]], share: float = 0.02) -> None:
    """About 2% of replies: three banned members' replies, then a weighted draw favouring ads."""
    quoted = {p["quote"]["pid"] for t in threads for p in t["posts"] if p["quote"]}
    candidates = [(t, p) for t in threads if not t["sticky"] for p in t["posts"]
                  if p["floor"] > 1 and p["pid"] not in quoted]
    target = round(share * sum(len(t["posts"]) for t in threads))
    counts = Counter(p["author"] for _, p in candidates)
    light = [name for name, n in counts.items() if 2 <= n <= 4]
    banned = rng.sample(light, min(3, len(light)))
    for _, p in candidates:
        if p["author"] in banned:
            p["moderation"] = "author_banned"
    rest = [(t, p) for t, p in candidates if p["moderation"] is None]
    # Efraimidis-Spirakis keys: a weighted sample without replacement.
    keys = [rng.random() ** (1 / (4 if t["theme"] == "ads" else 1)) for t, _ in rest]
    keyed = [tp for _, tp in sorted(zip(keys, rest, strict=True), key=lambda kt: -kt[0])]
    done = sum(1 for _, p in candidates if p["moderation"])
    for _, p in keyed[:max(0, target - done)]:
        p["moderation"] = rng.choice(["banned", "banned", "hidden", "deleted", "deleted"])


def views(rng: Random, s: Skeleton) -> int:
    replies = s.size - 1
    return replies + int((replies + 2) * rng.uniform(12, 70) * (3 if s.sticky else 1)) \
        + rng.randint(5, 400)


# --- corpus --------------------------------------------------------------------------------


def build_corpus(seed: int = SEED, sentences_dir: Path | None = None) -> dict[str, Any]:
    rng = Random(seed)
    banks = load_banks(sentences_dir or SENTENCES)
    common = banks.pop("common")
    available = [t for t in (*TOPICAL, *NOISE) if t in banks] + sorted(
        t for t in banks if t not in TOPICAL + NOISE)
    users = make_users(rng)
    skeletons = plan_threads(rng, available)
    ctx = Context(banks, common, users,
                  {t: deck(rng, banks[t]["subjects"]) for t in available}
                  | {"_sticky": deck(rng, common["sticky_subjects"])},
                  deck(rng, list(pii.PII_TYPES)))
    for s in skeletons:
        write_posts(rng, ctx, s)
    tids = assign_ids(rng, skeletons)
    threads = []
    for s, tid in sorted(zip(skeletons, tids, strict=True), key=lambda st: st[1]):
        resolve_quotes(s.posts)
        threads.append({"tid": tid, "fid": s.fid, "subject": subject_line(rng, ctx, s),
                        "theme": s.theme, "sticky": s.sticky, "views": views(rng, s),
                        "review": False, "posts": s.posts})
    assign_moderation(rng, threads)
    for t in rng.sample([t for t in threads if not t["sticky"] and t["fid"] != 95], 3):
        t["review"] = True
    return {
        "format": "lurker-demo-corpus/1", "seed": seed, "anchor": ANCHOR.isoformat(),
        "site": {"name": "外贸人论坛 (demo)", "timeoffset": 8, "ppp": 10, "tpp": 20},
        "boards": [{"fid": b.fid, "name": b.name, "description": b.description,
                    "login_required": b.login_required} for b in BOARDS],
        "users": users.rows,
        "threads": threads,
    }


def dump(corpus: dict[str, Any]) -> str:
    return json.dumps(corpus, ensure_ascii=False, indent=1) + "\n"


def load_corpus(path: Path | str | None = None) -> dict[str, Any]:
    """The shipped corpus (or the one at `path`)."""
    if path is None:
        ref = resources.files("pipeline.demoforum").joinpath("data", "corpus.json")
        return json.loads(ref.read_text(encoding="utf-8"))
    return json.loads(Path(path).read_text(encoding="utf-8"))


def summary(corpus: dict[str, Any]) -> str:
    posts = [p for t in corpus["threads"] for p in t["posts"]]
    kinds = Counter(sp["type"] for p in posts for sp in p["pii"])
    long_threads = sum(len(t["posts"]) > 100 for t in corpus["threads"])
    return (f"{len(corpus['boards'])} boards, {len(corpus['threads'])} threads "
            f"({long_threads} over 100 posts), {len(posts)} posts, {len(corpus['users'])} users\n"
            f"pii: {sum(bool(p['pii']) for p in posts)} posts {dict(kinds)}\n"
            f"langs: {dict(Counter(p['lang'] for p in posts))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    corpus = build_corpus(args.seed, args.sentences)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(corpus), encoding="utf-8")
    print(f"wrote {args.out}\n{summary(corpus)}")


if __name__ == "__main__":
    main()
