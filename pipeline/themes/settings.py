"""Theme settings: `config/themes.toml` defaults, overridden by the workspace's `[themes]` table."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.settings import ConfigError


@dataclass(frozen=True, slots=True)
class DictionarySettings:
    no_below: int = 5
    no_above: float = 0.5
    keep_n: int = 50000
    min_tokens: int = 3
    stopwords: str = ""  # a project's themes stop list ("": config/themes_stopwords_zh.txt)
    extra_stopwords: tuple[str, ...] = ()  # words dropped on top of the list
    phrases: bool = False
    phrase_min_count: int = 5
    phrase_threshold: float = 10.0


@dataclass(frozen=True, slots=True)
class SweepSettings:
    topics: tuple[int, ...] = (5, 10, 15, 20, 25, 30)
    seeds: tuple[int, ...] = (1, 2, 3)
    passes: int = 10
    iterations: int = 50
    alpha: str = "0.05"
    chunksize: int = 2000
    workers: int = 2
    topn: int = 10


@dataclass(frozen=True, slots=True)
class CoherenceSettings:
    measures: tuple[str, ...] = ("c_v", "c_npmi", "u_mass")
    processes: int = 2


@dataclass(frozen=True, slots=True)
class RecommendSettings:
    min_stability: float = 0.25
    coherence: str = "c_v"


@dataclass(frozen=True, slots=True)
class SeedingSettings:
    enabled: bool = True
    keywords: str = ""
    weight: float = 50.0
    concepts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SummarySettings:
    representatives: int = 5
    excerpt_chars: int = 240


@dataclass(frozen=True, slots=True)
class ThemeSettings:
    dictionary: DictionarySettings = field(default_factory=DictionarySettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)
    coherence: CoherenceSettings = field(default_factory=CoherenceSettings)
    recommend: RecommendSettings = field(default_factory=RecommendSettings)
    seeding: SeedingSettings = field(default_factory=SeedingSettings)
    summary: SummarySettings = field(default_factory=SummarySettings)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @property
    def hash(self) -> str:
        """SHA-256 of the settings that shape the result; how many processes run it does not."""
        data = self.to_dict()
        del data["sweep"]["workers"], data["coherence"]["processes"]
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def replace(self, **sections: Any) -> ThemeSettings:
        """A copy with some sections' fields changed: replace(sweep={"topics": (5, 8)})."""
        data = self.to_dict()
        for name, changes in sections.items():
            data[name] = {**data[name], **changes}
        return parse_theme_settings(data)


_CLASSES = {
    "dictionary": DictionarySettings,
    "sweep": SweepSettings,
    "coherence": CoherenceSettings,
    "recommend": RecommendSettings,
    "seeding": SeedingSettings,
    "summary": SummarySettings,
}
MEASURES = ("c_v", "c_npmi", "u_mass")


def _coerce(cls: type, table: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, value in table.items():
        default = getattr(defaults, name)
        if name == "alpha" and isinstance(value, int | float) and not isinstance(value, bool):
            value = repr(float(value))  # a number is a symmetric prior of that value
        if isinstance(default, tuple):
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}.{name}: expected a list, got {value!r}")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.{name}: expected true or false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{where}.{name}: expected a whole number, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}.{name}: expected a number, got {value!r}")
            value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{where}.{name}: expected text, got {value!r}")
        values[name] = value
    return cls(**values)


def parse_theme_settings(raw: dict[str, Any]) -> ThemeSettings:
    unknown = sorted(set(raw) - set(_CLASSES))
    if unknown:
        raise ConfigError(f"themes: unknown section {unknown[0]!r}")
    sections = {}
    for name, cls in _CLASSES.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"themes.{name} must be a table")
        sections[name] = _coerce(cls, table, f"themes.{name}")
    settings = ThemeSettings(**sections)
    _validate(settings)
    return settings


def _validate(s: ThemeSettings) -> None:
    if not s.sweep.topics or any(k < 2 for k in s.sweep.topics):
        raise ConfigError("themes.sweep.topics: give numbers of topics of at least 2")
    if not s.sweep.seeds:
        raise ConfigError("themes.sweep.seeds: give at least one seed")
    if len(set(s.sweep.seeds)) != len(s.sweep.seeds):
        raise ConfigError("themes.sweep.seeds: seeds must differ")
    if alpha_value(s.sweep.alpha) is None:
        raise ConfigError("themes.sweep.alpha: symmetric, asymmetric or a positive number")
    bad = [m for m in s.coherence.measures if m not in MEASURES]
    if bad:
        raise ConfigError(f"themes.coherence.measures: unknown measure {bad[0]!r}")
    if s.recommend.coherence not in s.coherence.measures:
        raise ConfigError("themes.recommend.coherence: must be one of coherence.measures")
    if not 0 < s.dictionary.no_above <= 1:
        raise ConfigError("themes.dictionary.no_above: a share between 0 and 1")


def alpha_value(alpha: str) -> str | float | None:
    """gensim's `alpha`: a named prior, or a number; None when invalid."""
    if alpha in ("symmetric", "asymmetric"):
        return alpha
    try:
        value = float(alpha)
    except ValueError:
        return None
    return value if value > 0 else None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_theme_settings(workspace_config: Path | None = None) -> ThemeSettings:
    text = resources.files("config").joinpath("themes.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    if workspace_config is not None and workspace_config.exists():
        try:
            project = tomllib.loads(workspace_config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{workspace_config}: {exc}") from None
        themes = project.get("themes", {})
        if not isinstance(themes, dict):
            raise ConfigError(f"{workspace_config}: [themes] must be a table")
        raw = _merge(raw, themes)
    return parse_theme_settings(raw)


def parse_int_list(value: str, option: str) -> tuple[int, ...]:
    """`5,10,15`, `5-30` (step 5) or `5-30:2` → numbers; a bad value is a ConfigError."""
    out: list[int] = []
    try:
        for part in value.replace(" ", "").split(","):
            if not part:
                continue
            if "-" in part:
                span, _, step = part.partition(":")
                lo, hi = (int(x) for x in span.split("-", 1))
                out += range(lo, hi + 1, int(step) if step else 5)
            else:
                out.append(int(part))
    except ValueError:
        raise ConfigError(
            f"{option}: expected numbers like 5,10,15 or 5-30:5, got {value!r}"
        ) from None
    if not out:
        raise ConfigError(f"{option}: no numbers in {value!r}")
    return tuple(dict.fromkeys(out))
