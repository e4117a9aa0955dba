"""How Discuz! X classifies a User-Agent: checkrobot() and checkmobile() (function_core.php).

Both are plain substring tests on the lower-cased UA, which is why an innocent "used for
research" (contains "sed") or "remote" ("mot") gets the touch view (reference §7).
"""

from __future__ import annotations

SPIDERS = ("bot", "crawl", "spider", "slurp", "sohu-search", "lycos", "robozilla")
BROWSERS = ("msie", "netscape", "opera", "konqueror", "mozilla")
TOUCH = (
    "iphone", "android", "phone", "mobile", "wap", "netfront", "java", "opera mobi",
    "opera mini", "ucweb", "windows ce", "symbian", "series", "webos", "sony", "blackberry",
    "dopod", "nokia", "samsung", "palmsource", "xda", "pieplus", "meizu", "midp", "cldc",
    "motorola", "foma", "docomo", "up.browser", "up.link", "blazer", "helio", "hosin", "huawei",
    "novarra", "coolpad", "techfaith", "alcatel", "amoi", "ktouch", "nexian", "ericsson",
    "philips", "sagem", "wellcom", "bunjalloo", "maui", "smartphone", "iemobile", "spice",
    "bird", "zte-", "longcos", "pantech", "gionee", "portalmmm", "jig browser", "hiptop",
    "benq", "haier", "320x320", "240x320", "176x220", "windows phone",
)
WML = (
    "cect", "compal", "ctl", "lg", "nec", "tcl", "daxian", "dbtel", "eastcom", "konka",
    "kejian", "lenovo", "mot", "soutec", "sgh", "sed", "capitel", "panasonic", "sonyericsson",
    "sharp", "panda", "zte",
)
PAD = ("ipad",)  # pads get the desktop pages


def is_robot(user_agent: str) -> bool:
    ua = user_agent.lower()
    if not any(k in ua for k in SPIDERS) and any(k in ua for k in BROWSERS):
        return False
    return any(k in ua for k in SPIDERS)


def is_mobile(user_agent: str) -> bool:
    ua = user_agent.lower()
    if any(k in ua for k in PAD):
        return False
    return any(k in ua for k in TOUCH) or any(k in ua for k in WML)


def wants_desktop(query: dict[str, str], cookies: dict[str, str]) -> bool:
    """`mobile=no` in the URL, or the `{cookiepre}mobile=no` cookie it sets."""
    if query.get("mobile") == "no":
        return True
    return any(name.endswith("mobile") and value == "no" for name, value in cookies.items())


def forces_touch(query: dict[str, str]) -> bool:
    return query.get("mobile") in ("2", "yes")
