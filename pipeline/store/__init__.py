"""The store (SQLAlchemy): SQLite in the workspace by default, any SQLAlchemy URL accepted."""

from . import corpus as corpus  # registers the corpus tables with the shared metadata
from . import themes as themes  # registers the candidate-theme tables
from .archive import ArchiveStore, FetchInfo, PageSaveResult, ThreadState

__all__ = ["ArchiveStore", "FetchInfo", "PageSaveResult", "ThreadState"]
