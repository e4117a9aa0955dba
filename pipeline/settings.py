"""Settings: `config/defaults.toml` overlaid by the workspace's `lurker.toml`.

All tunables live in those files; code reads them only through the dataclasses below, so a
broken file fails once, early, with one clear message.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PLACEHOLDER = "CONTACT-PLACEHOLDER"


class ConfigError(ValueError):
    """A user-facing configuration mistake (printed as one line by the CLI)."""


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    user_agent: str
    contact: str
    robots_obey: bool = True
    concurrent_per_host: int = 1
    download_delay: float = 5.0
    randomize_delay: bool = True
    autothrottle: bool = True
    autothrottle_max_delay: float = 60.0
    waf_backoff_start: float = 30.0
    waf_backoff_max: float = 600.0
    waf_max_retries: int = 5
    retry_times: int = 2
    download_timeout: float = 60.0
    max_page_bytes: int = 8_000_000
    utc_offset: float = 8.0
    posts_per_page: int = 10
    warc_max_bytes: int = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SiteConfig:
    name: str
    url: str
    engine: str = "discuz"
    boards: tuple[int, ...] = ()
    utc_offset: float = 8.0
    posts_per_page: int = 10
    # Per-site politeness overrides (None = the [crawl] default).
    download_delay: float | None = None
    autothrottle: bool | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)


@dataclass(frozen=True, slots=True)
class Settings:
    crawl: CrawlSettings
    sites: dict[str, SiteConfig] = field(default_factory=dict)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc


def default_config() -> dict[str, Any]:
    text = resources.files("config").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two TOML tables; the override wins key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(cls: type, table: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in table.items():
        expected = known[name].type
        values[name] = _coerce(value, str(expected), f"{where}.{name}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _coerce(value: Any, type_name: str, where: str) -> Any:
    if type_name.startswith("bool"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if type_name.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if type_name.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: must not be negative")
        return float(value)
    if type_name.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise ConfigError(f"{where}: expected a list of board ids, got {value!r}")
        return tuple(value)
    if type_name.startswith("str") and not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


def parse_settings(raw: dict[str, Any]) -> Settings:
    crawl_table = raw.get("crawl", {})
    if not isinstance(crawl_table, dict):
        raise ConfigError("[crawl] must be a table")
    crawl = _build(CrawlSettings, crawl_table, "crawl")
    if crawl.concurrent_per_host < 1:
        raise ConfigError("crawl.concurrent_per_host: must be at least 1")
    sites: dict[str, SiteConfig] = {}
    for name, table in (raw.get("sites") or {}).items():
        if not isinstance(table, dict):
            raise ConfigError(f"sites.{name} must be a table")
        site = _build(SiteConfig, {"name": name, **table}, f"sites.{name}")
        validate_url(site.url, f"sites.{name}.url")
        sites[name] = site
    return Settings(crawl=crawl, sites=sites)


def validate_url(url: str, where: str = "url") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: not an http(s) URL: {url!r}")
    return url


def load_settings(workspace_config: Path | None = None) -> Settings:
    raw = default_config()
    if workspace_config is not None and workspace_config.exists():
        raw = merge(raw, read_toml(workspace_config))
    return parse_settings(raw)


def site_for_url(url: str, crawl: CrawlSettings, name: str | None = None) -> SiteConfig:
    """An ad-hoc site for `lurker crawl --url`."""
    validate_url(url, "--url")
    if not urlsplit(url).path:
        url += "/"
    host = urlsplit(url).hostname or "site"
    port = urlsplit(url).port
    return SiteConfig(
        name=name or (f"{host}-{port}" if port else host),
        url=url,
        utc_offset=crawl.utc_offset,
        posts_per_page=crawl.posts_per_page,
    )


def effective_user_agent(crawl: CrawlSettings) -> str:
    return crawl.user_agent.replace("{contact}", crawl.contact)


def check_contact(crawl: CrawlSettings, site: SiteConfig) -> None:
    """Refuse to crawl a real host with the placeholder contact in the User-Agent."""
    if site.is_loopback:
        return
    if PLACEHOLDER in effective_user_agent(crawl):
        raise ConfigError(
            "set [crawl] contact in the workspace's lurker.toml to your email or project "
            "URL before crawling a real forum (it goes into the User-Agent)"
        )
