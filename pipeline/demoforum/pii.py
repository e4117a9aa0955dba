"""Fake personal details for the demo corpus, in correct formats, and their validators.

Everything here is invented, but each detail passes the checks a real anonymiser relies on
(mobile prefixes, the GB 11643 ID checksum, Luhn for bank cards), so detecting them in the demo
forum is a fair test. The validators are pure and meant to be reused by the anonymiser.

A *plant* is a rendered snippet (label included, e.g. ``微信：abc_123``) plus the span of the
detail itself inside it (``abc_123``); `contact_sentence` embeds one or two plants in a natural
sentence and returns the spans shifted to sentence offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from random import Random

PII_TYPES = ("mobile", "landline", "email", "qq", "wechat", "idcard", "bankcard", "url", "name")


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int
    value: str

    def shifted(self, by: int) -> Span:
        return replace(self, start=self.start + by, end=self.end + by)

    def to_json(self) -> dict[str, object]:
        return {"type": self.type, "start": self.start, "end": self.end, "value": self.value}


@dataclass(frozen=True)
class Plant:
    text: str
    span: Span


def labelled(kind: str, label: str, value: str) -> Plant:
    return Plant(label + value, Span(kind, len(label), len(label) + len(value), value))


# --- validators ---------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE_RE = re.compile(r"1(3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")


def digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def gb11643_check_digit(first17: str) -> str:
    """The 18th character of a resident ID number (GB 11643-1999, ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need the first 17 digits")
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_idcard(text: str) -> bool:
    """18-character ID: region not 0/9-led, a real birth date, and a matching checksum."""
    s = text.strip().upper()
    if len(s) != 18 or not s[:17].isdigit() or s[0] in "09":
        return False
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return born.year >= 1900 and gb11643_check_digit(s[:17]) == s[17]


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass Luhn."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def luhn_valid(text: str) -> bool:
    """Luhn over the digits of `text` (spaces and dashes between groups are allowed)."""
    if re.fullmatch(r"[\d \-]+", text.strip()) is None:
        return False
    number = digits_only(text)
    return len(number) >= 2 and luhn_check_digit(number[:-1]) == number[-1]


def is_valid_bankcard(text: str) -> bool:
    """UnionPay-style card: 16-19 digits starting with 62, passing Luhn."""
    number = digits_only(text)
    return 16 <= len(number) <= 19 and number.startswith("62") and luhn_valid(text)


def is_valid_mobile(text: str) -> bool:
    """A mainland mobile, with or without +86 and separators."""
    number = digits_only(text)
    if number.startswith("86") and len(number) == 13:
        number = number[2:]
    return _MOBILE_RE.fullmatch(number) is not None


def words(text: str) -> list[str]:
    return text.split()


# --- values -------------------------------------------------------------------------------

MOBILE_PREFIXES = words(
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 "
    "166 173 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199"
)
# Area code -> local number length (Xiamen still has 7-digit numbers).
AREA_CODES = {
    "010": 8, "020": 8, "021": 8, "022": 8, "025": 8, "027": 8, "028": 8,
    "0755": 8, "0769": 8, "0757": 8, "0760": 8, "0574": 8, "0579": 8, "0577": 8,
    "0571": 8, "0512": 8, "0595": 8, "0754": 8, "0532": 8, "0592": 7,
}
# Real county-level region codes of trading towns, so IDs look plausible.
ID_REGIONS = words(
    "110101 110105 310104 310115 440103 440106 440304 440305 441900 442000 440604 330102 "
    "330782 330203 330302 320583 320505 350203 350583 420106 430104 510107 360102 410105 370202"
)
CARD_BINS = {"622202": 19, "622848": 19, "621700": 19, "622588": 16, "621483": 16,
             "621661": 19, "622262": 19, "622908": 18, "625966": 16}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许邓冯韩曹彭曾肖蔡潘"
GIVEN = words("伟 芳 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 志强 "
              "海燕 晓东 文静 国庆 小红 春梅 建国 立新 振华 美玲 嘉欣 子豪 俊杰 雪梅")
TITLES = words("经理 总 老板 小姐 工 姐 师傅 主管")
PINYIN = words("zhangwei liuyang wangfang chenjie linli huangtao zhoumin wuqiang xuhua sunli "
               "gaofeng luoqin hejun zhengkai liangyu xieting tanglei")
EN_NAMES = words("kevin lucy tony jacky sunny cindy amy jason eric linda coco vivian leo frank")
BRANDS = words("xinhe hengda jinlong ruifeng huayu tianli meicheng yongsheng baoli kaida")
PRODUCTS = words("mould hardware led packaging textile toys bags ceramic shoes furniture")
CITIES = words("dg sz gz nb yw wz fs xm qz zs")
MAIL_DOMAINS = words("qq.com 163.com 126.com sina.com foxmail.com gmail.com hotmail.com aliyun.com")


def mobile_number(rng: Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choices("0123456789", k=8))


def idcard_number(rng: Random) -> str:
    born = date(1962, 1, 1) + timedelta(days=rng.randrange(365 * 39))
    first17 = f"{rng.choice(ID_REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + gb11643_check_digit(first17)


def bankcard_number(rng: Random) -> str:
    bin_, length = rng.choice(list(CARD_BINS.items()))
    payload = bin_ + "".join(rng.choices("0123456789", k=length - len(bin_) - 1))
    return payload + luhn_check_digit(payload)


def person_name(rng: Random) -> str:
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.35:  # how traders actually refer to each other: 王经理, 陈总
        return surname + rng.choice(TITLES)
    return surname + rng.choice(GIVEN)


def wechat_id(rng: Random) -> str:
    # WeChat ids: 6-20 chars, a letter first, then letters, digits, _ or -.
    stem = rng.choice([*PINYIN, *EN_NAMES, "abc", "tom", "dg_laowang", "yw_export"])
    number = rng.choice([rng.randrange(10, 100), 2018 + rng.randrange(8),
                         rng.randrange(100, 10000)])
    tail = rng.choice(["", "_", "-"]) + str(number)
    if rng.random() < 0.12:
        return "wxid_" + "".join(rng.choices("abcdefghijkmnpqrstuvwxyz0123456789", k=10))
    value = (stem + tail)[:20]
    return value if len(value) >= 6 else value + "888"


def qq_number(rng: Random) -> str:
    # Old accounts have 5-7 digits, most have 8-10.
    length = rng.choices([5, 6, 7, 8, 9, 10], [1, 2, 3, 6, 10, 8])[0]
    return str(rng.randrange(1, 4 if length == 10 else 10)) + "".join(
        rng.choices("0123456789", k=length - 1))


def email_address(rng: Random) -> str:
    roll = rng.random()
    if roll < 0.25:
        return f"{qq_number(rng)}@qq.com"
    if roll < 0.45:
        company = rng.choice(CITIES) + rng.choice(BRANDS)
        return f"{rng.choice(['sales', 'info', 'export', 'hr'])}@{company}.com"
    local = rng.choice([*PINYIN, *EN_NAMES])
    if rng.random() < 0.6:
        local += rng.choice(["", ".", "_"]) + str(rng.randrange(1, 999))
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def shop_url(rng: Random) -> str:
    brand, city, product = rng.choice(BRANDS), rng.choice(CITIES), rng.choice(PRODUCTS)
    forms = [
        f"https://shop{rng.randrange(1000, 99_999_999)}.1688.com",
        f"{city}{brand}.taobao.com",
        f"https://{brand}{product}.taobao.com",
        f"www.{city}{brand}-{product}.com",
        f"https://{city}{brand}.en.alibaba.com",
        f"http://www.{brand}{product}.cn",
    ]
    return rng.choice(forms)


def landline_number(rng: Random) -> tuple[str, str]:
    area, length = rng.choice(list(AREA_CODES.items()))
    local = str(rng.randrange(2, 9)) + "".join(rng.choices("0123456789", k=length - 1))
    return area, local


# --- renderings (label + value) -----------------------------------------------------------


def plant_mobile(rng: Random) -> Plant:
    n = mobile_number(rng)
    value = rng.choice([n, n, f"+86 {n[:3]} {n[3:7]} {n[7:]}", f"{n[:3]}-{n[3:7]}-{n[7:]}",
                        f"{n[:3]} {n[3:7]} {n[7:]}", f"+86-{n}"])
    return labelled("mobile", "", value)


def plant_landline(rng: Random) -> Plant:
    area, local = landline_number(rng)
    split = f"{local[:4]} {local[4:]}" if len(local) == 8 else local
    value = rng.choice([f"{area}-{local}", f"{area}-{split}", f"({area}){local}",
                        f"{area} {split}"])
    return labelled("landline", "", value)


def plant_email(rng: Random) -> Plant:
    return labelled("email", "", email_address(rng))


def plant_qq(rng: Random, lang: str = "zh") -> Plant:
    labels = ["QQ "] if lang == "en" else ["QQ：", "QQ:", "qq ", "扣扣 ", "Q：", "企鹅号"]
    return labelled("qq", rng.choice(labels), qq_number(rng))


def plant_wechat(rng: Random, lang: str = "zh") -> Plant:
    labels = (["WeChat: ", "wechat id "] if lang == "en"
              else ["微信：", "微信 ", "vx: ", "VX：", "V信 ", "wx:", "威信", "薇信："])
    return labelled("wechat", rng.choice(labels), wechat_id(rng))


def plant_idcard(rng: Random) -> Plant:
    return labelled("idcard", "", idcard_number(rng))


def plant_bankcard(rng: Random) -> Plant:
    n = bankcard_number(rng)
    grouped = " ".join(n[i:i + 4] for i in range(0, len(n), 4))
    return labelled("bankcard", "", rng.choice([n, grouped]))


def plant_url(rng: Random) -> Plant:
    return labelled("url", "", shop_url(rng))


def plant_name(rng: Random) -> Plant:
    return labelled("name", "", person_name(rng))


def plant(rng: Random, kind: str, lang: str = "zh") -> Plant:
    if kind in ("qq", "wechat"):
        return (plant_qq if kind == "qq" else plant_wechat)(rng, lang)
    return PLANTERS[kind](rng)


PLANTERS = {"mobile": plant_mobile, "landline": plant_landline, "email": plant_email,
            "idcard": plant_idcard, "bankcard": plant_bankcard, "url": plant_url,
            "name": plant_name}

# --- sentences ----------------------------------------------------------------------------

# {slot} is replaced by a plant of that type; pair templates read better than two glued ones.
ZH_TEMPLATES = [
    "有需要的直接打我电话{mobile}",
    "手机{mobile}，微信同号",
    "电话：{mobile}",
    "急的话打{mobile}",
    "联系电话 {mobile}（下午比较空）",
    "电话 {landline}",
    "公司座机{landline}，工作日9点到6点都有人",
    "有问题打我们办公室{landline}",
    "资料发我邮箱 {email}",
    "报价单请发到{email}，谢谢",
    "简历投递：{email}",
    "邮箱{email}，24小时内回复",
    "有需要的加{qq}",
    "{qq}，加的时候备注论坛",
    "不方便的话加我{qq}私聊",
    "群里人多，加我{qq}",
    "有需要的加我{wechat}",
    "{wechat}，备注来意",
    "详细的加{wechat}聊",
    "样品图都在朋友圈，{wechat}",
    "货代让我把身份证号{idcard}发过去做清关，这样安全吗？",
    "开户的时候填的身份证号是{idcard}，结果说对不上",
    "报名表上填的身份证号码 {idcard}，请管理核实",
    "我朋友的身份证{idcard}被人拿去注册了公司，怎么办",
    "货款直接打这个卡：{bankcard}",
    "收款账户 工行 {bankcard}",
    "定金请转到{bankcard}，到账就发货",
    "对公账户太慢，私户{bankcard}也行",
    "店铺地址：{url}",
    "我们官网{url}上有产品目录",
    "欢迎进店看看 {url}",
    "样品可以在{url}直接拍",
    "联系人：{name}",
    "找我们{name}就行，他负责这块",
    "上次合作的是{name}，人挺靠谱",
    "我是{name}，做这行十年了",
    "联系人 {name} {mobile}",
    "找{name}，电话{mobile}",
    "户名{name}，卡号{bankcard}",
    "{wechat}，{qq}，都可以",
    "官网{url}，邮箱{email}",
    "座机{landline}，手机{mobile}",
    "同事{name}的身份证{idcard}被冒用了，报警有用吗",
]
EN_TEMPLATES = [
    "Call or WhatsApp: {mobile}",
    "You can reach me at {mobile}",
    "Tel: {landline}",
    "Pls send your inquiry to {email}",
    "Email: {email}",
    "Add me on {wechat}",
    "{qq} is ok too",
    "Bank account for the deposit: {bankcard}",
    "ID no. {idcard}",
    "Our shop: {url}",
    "Catalogue is on {url}",
    "Contact person: {name}",
    "Ask for {name}, she handles export",
    "Contact {name}, mobile {mobile}",
]
_SLOT = re.compile(r"\{(\w+)\}")


# Which two details people naturally give together (the generator plants these pairs).
PAIRS = [("name", "mobile"), ("name", "bankcard"), ("wechat", "qq"), ("url", "email"),
         ("landline", "mobile"), ("name", "idcard")]


def template_slots(template: str) -> list[str]:
    return _SLOT.findall(template)


def fill(template: str, plants: dict[str, Plant]) -> tuple[str, list[Span]]:
    """Substitute each {slot}, returning the text and the spans at their final offsets."""
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    for m in _SLOT.finditer(template):
        out.append(template[pos:m.start()])
        offset = sum(map(len, out))
        item = plants[m.group(1)]
        out.append(item.text)
        spans.append(item.span.shifted(offset))
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), spans


def contact_sentence(rng: Random, kinds: list[str], lang: str = "zh") -> tuple[str, list[Span]]:
    """A sentence carrying one or two planted details of the given types."""
    templates = EN_TEMPLATES if lang == "en" else ZH_TEMPLATES
    exact = [t for t in templates if sorted(template_slots(t)) == sorted(kinds)]
    if exact:
        chosen = [rng.choice(exact)]
    else:  # no pair template: glue one template per type, English ones fall back to Chinese
        chosen = []
        for kind in kinds:
            pool = [t for t in templates if template_slots(t) == [kind]]
            pool = pool or [t for t in ZH_TEMPLATES if template_slots(t) == [kind]]
            chosen.append(rng.choice(pool))
    template = chosen[0]
    for part in chosen[1:]:  # don't glue a comma after a question mark
        template += ("" if template[-1] in "？！。" else ". " if lang == "en" else "，") + part
    plants = {kind: plant(rng, kind, lang) for kind in dict.fromkeys(template_slots(template))}
    return fill(template, plants)
