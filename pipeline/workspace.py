"""The workspace folder: store, WARC files, logs, project config, keys, models, exports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = "lurker-data"


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, path: Path | str | None = None) -> Workspace:
        """--workspace, else $LURKER_HOME, else ./lurker-data."""
        chosen = path or os.environ.get("LURKER_HOME") or DEFAULT_DIR
        return cls(Path(chosen).expanduser().resolve())

    @property
    def config_file(self) -> Path:
        return self.root / "lurker.toml"

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def db_path(self) -> Path:
        return self.root / "lurker.sqlite"

    @property
    def store_url(self) -> str:
        """$LURKER_STORE_URL (e.g. PostgreSQL) wins over the embedded SQLite file."""
        return os.environ.get("LURKER_STORE_URL") or f"sqlite:///{self.db_path}"

    def create(self) -> Workspace:
        # The archive holds personal data scraped from forums: owner-only access, for the
        # folders and (through the umask) for every file this process writes from now on:
        # the store, WARC files, models, reports, exports.
        os.umask(0o077)
        for folder in (self.root, self.warc_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        return self
