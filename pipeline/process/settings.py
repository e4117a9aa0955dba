"""Processing settings: the `[process]` table of the workspace's `lurker.toml` (all optional).

```toml
[process]
to_simplified = false        # convert Traditional characters to Simplified (OpenCC t2s)
keywords = "my-keywords.toml"  # a project's keyword list (default: config/keywords.toml)
userdict = "userdict.txt"      # a project's jieba user dictionary
stopwords_zh = "stop_zh.txt"
stopwords_en = "stop_en.txt"
batch_size = 10000           # posts per batch (memory is about one batch)
kwic_sample = 20             # KWIC lines kept per concept
```
Relative paths are relative to the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pipeline.settings import ConfigError, read_toml
from pipeline.workspace import Workspace

KEY_FILE = "pseudonym.key"


@dataclass(frozen=True, slots=True)
class ProcessSettings:
    to_simplified: bool = False
    keywords: Path | None = None
    userdict: Path | None = None
    stopwords_zh: Path | None = None
    stopwords_en: Path | None = None
    batch_size: int = 10000  # fewer Prefect task runs (~7 ms each); ~45 MB more than 2000
    kwic_sample: int = 20


_PATHS = ("keywords", "userdict", "stopwords_zh", "stopwords_en")


def parse_process_settings(table: dict[str, Any], root: Path) -> ProcessSettings:
    known = {f.name for f in fields(ProcessSettings)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"process: unknown setting(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name in _PATHS:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"process.{name}: expected a file path, got {value!r}")
            path = (root / value).expanduser()
            if not path.is_file():
                raise ConfigError(f"process.{name}: no such file {path}")
            values[name] = path
        elif name == "to_simplified":
            if not isinstance(value, bool):
                raise ConfigError(f"process.{name}: expected true or false, got {value!r}")
            values[name] = value
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"process.{name}: expected a positive integer, got {value!r}")
            values[name] = value
    return ProcessSettings(**values)


def load_process_settings(ws: Workspace) -> ProcessSettings:
    if not ws.config_file.exists():
        return ProcessSettings()
    table = read_toml(ws.config_file).get("process", {})
    if not isinstance(table, dict):
        raise ConfigError("[process] must be a table")
    return parse_process_settings(table, ws.root)
