"""Candidate-theme schema: theme runs (a sweep on one snapshot), fitted models, candidate themes.

A run records everything needed to reproduce it exactly: the snapshot id, the dictionary and
model settings, the seeds, the library versions and where its files sit in the workspace. Rows
are written once, when a run has finished; a failed run leaves no half-written themes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow


class ThemeRun(Base):
    __tablename__ = "theme_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Dictionary, sweep, seeding and summary settings exactly as used (after defaults merged).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    settings_hash: Mapped[str] = mapped_column(String(64))
    versions: Mapped[dict] = mapped_column(JSON, default=dict)  # python, gensim, numpy, …
    files: Mapped[dict] = mapped_column(JSON, default=dict)  # workspace-relative paths + hashes
    corpus_stats: Mapped[dict] = mapped_column(JSON, default=dict)  # documents, vocabulary, …
    recommended_k: Mapped[int | None] = mapped_column(Integer)
    chosen_model_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    per_k: Mapped[list] = mapped_column(JSON, default=list)  # coherence/stability per K
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    report_path: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="complete")


class ThemeModel(Base):
    """One fitted LDA model of a run's sweep (one K, one seed)."""

    __tablename__ = "theme_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id"), index=True)
    num_topics: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    guided: Mapped[bool] = mapped_column(Boolean, default=False)  # eta seeded from concepts
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # LdaModel keyword arguments
    model_file: Mapped[str] = mapped_column(String(1000))  # relative to the workspace
    model_sha256: Mapped[str] = mapped_column(String(64))  # of the topic-word matrix
    coherence: Mapped[dict] = mapped_column(JSON, default=dict)  # measure → model score
    topic_coherence: Mapped[dict] = mapped_column(JSON, default=dict)  # measure → per topic
    stability: Mapped[float | None] = mapped_column(Float)
    topic_stability: Mapped[list] = mapped_column(JSON, default=list)
    top_words: Mapped[list] = mapped_column(JSON, default=list)  # per topic: [[word, weight]]
    fit_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class CandidateTheme(Base):
    """One topic of a run's chosen model, summarised for human review."""

    __tablename__ = "candidate_themes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("theme_models.id"))
    topic: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(500))
    concept: Mapped[str | None] = mapped_column(String(200))  # the concept the label came from
    top_words: Mapped[list] = mapped_column(JSON, default=list)  # [[word, weight]]
    share: Mapped[float] = mapped_column(Float)  # share of posts whose dominant topic it is
    posts: Mapped[int] = mapped_column(Integer)
    stability: Mapped[float | None] = mapped_column(Float)
    coherence: Mapped[dict] = mapped_column(JSON, default=dict)
    monthly: Mapped[list] = mapped_column(JSON, default=list)  # [[YYYY-MM, share], …]
    representatives: Mapped[list] = mapped_column(JSON, default=list)  # pseudonymised posts
