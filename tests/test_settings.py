from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import (
    ConfigError,
    check_contact,
    effective_user_agent,
    load_settings,
    site_for_url,
)


def test_defaults_are_polite():
    settings = load_settings()
    crawl = settings.crawl
    assert crawl.robots_obey is True
    assert crawl.concurrent_per_host == 1
    assert crawl.download_delay >= 1
    assert "CONTACT-PLACEHOLDER" in effective_user_agent(crawl)
    assert "fob" in settings.sites


def test_workspace_file_overrides_defaults(tmp_path: Path):
    cfg = tmp_path / "lurker.toml"
    cfg.write_text('[crawl]\ncontact = "me@uni.edu"\ndownload_delay = 9\n'
                   '[sites.alpha]\nurl = "https://alpha.example/"\nboards = [2, 3]\n',
                   encoding="utf-8")
    settings = load_settings(cfg)
    assert settings.crawl.download_delay == 9.0
    assert settings.crawl.robots_obey is True  # untouched default kept
    assert effective_user_agent(settings.crawl).endswith("contact: me@uni.edu)")
    assert settings.sites["alpha"].boards == (2, 3)
    check_contact(settings.crawl, settings.sites["alpha"])  # contact set: no error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[crawl\n", "not valid TOML"),
        ("[crawl]\nspeed = 3\n", "unknown setting(s) speed"),
        ("[crawl]\ndownload_delay = 'fast'\n", "expected a number"),
        ("[crawl]\ndownload_delay = -1\n", "must not be negative"),
        ("[crawl]\nrobots_obey = 'yes'\n", "expected true or false"),
        ("[sites.x]\nurl = 'gopher://x'\n", "not an http(s) URL"),
        ("[sites.x]\nurl = 'https://x/'\nboards = ['a']\n", "list of board ids"),
    ],
)
def test_broken_config_is_one_clear_error(tmp_path: Path, text: str, message: str):
    cfg = tmp_path / "lurker.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(cfg)


def test_placeholder_contact_blocks_real_hosts_only():
    crawl = load_settings().crawl
    with pytest.raises(ConfigError, match="contact"):
        check_contact(crawl, site_for_url("https://bbs.example.com/", crawl))
    check_contact(crawl, site_for_url("http://127.0.0.1:8800/", crawl))


def test_url_site_names_and_validation():
    crawl = load_settings().crawl
    site = site_for_url("http://127.0.0.1:8800", crawl)
    assert site.url == "http://127.0.0.1:8800/"
    assert site.name == "127.0.0.1-8800"
    assert site.is_loopback
    with pytest.raises(ConfigError):
        site_for_url("not a url", crawl)
