"""The store (SQLAlchemy): SQLite in the workspace by default, any SQLAlchemy URL accepted."""

from .archive import ArchiveStore, FetchInfo, PageSaveResult, ThreadState

__all__ = ["ArchiveStore", "FetchInfo", "PageSaveResult", "ThreadState"]
