"""Streamlit caching at the app boundary: corpus indexes, audio, features and models.

``ser_core`` never imports streamlit; every ``st.cache_data`` / ``st.cache_resource``
lives here. Heavy modules (features, artifacts, torch, tensorflow) are imported inside
the functions so the landing page stays light.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ui import paths


def path_signature(path: str | Path) -> tuple[str, float, int]:
    """A cache key part that changes when a file or folder (top level) changes."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        return (str(p), 0.0, 0)
    if p.is_dir():
        children = [c.stat().st_mtime for c in p.iterdir()] if os.access(p, os.R_OK) else []
        return (str(p), max([stat.st_mtime, *children]), len(children))
    return (str(p), stat.st_mtime, stat.st_size)


@st.cache_data(show_spinner="Indexing the corpus…", max_entries=8)
def _corpus_index(path: str, signature: tuple):
    from ser_core.data.index import index_corpus

    return index_corpus(path)


def corpus_index(path: str):
    """The :class:`~ser_core.data.index.CorpusIndex` of a folder or zip (re-indexed when it changes)."""
    return _corpus_index(str(path), path_signature(path))


@st.cache_data(show_spinner="Fingerprinting the clips and checking the split…", max_entries=8)
def _leakage_report(path: str, signature: tuple, protocol: str | None, n_folds: int):
    from ser_core.data.leakage import leakage_report as report_of

    return report_of(_corpus_index(path, signature), protocol=protocol, n_folds=n_folds)


def leakage_report(path: str, *, protocol: str | None, n_folds: int = 5):
    """The :func:`ser_core.data.leakage.leakage_report` of a corpus under one protocol (None: the corpus alone)."""
    return _leakage_report(str(path), path_signature(path), protocol, int(n_folds))


@st.cache_data(show_spinner=False, max_entries=64)
def audio(payload: bytes | str, *, sample_rate: int = 16000,
          max_duration_s: float | None = None) -> np.ndarray:
    """Decoded mono float32 audio at ``sample_rate`` (payload: file bytes or a path)."""
    from ser_core.audio.preprocess import load_audio

    source = Path(payload) if isinstance(payload, str) else payload
    return load_audio(source, sample_rate=sample_rate, max_duration_s=max_duration_s)


@st.cache_data(show_spinner=False, max_entries=64)
def preprocessed(y: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
    """The default preprocessing (DC removal, trim at 20 dB, peak-normalise) of decoded audio."""
    from ser_core.audio.preprocess import PreprocessSettings, preprocess_with

    return preprocess_with(y, settings=PreprocessSettings(sample_rate=sample_rate))


@st.cache_data(show_spinner=False, max_entries=64)
def study_frames(y: np.ndarray, *, sample_rate: int = 16000, n_mfcc: int = 40):
    """The MFCC / Δ / ΔΔ / mel matrices of one clip (see ``ser_core.features.study_frames``)."""
    from ser_core.features import study_frames as frames

    return frames(y, sample_rate=sample_rate, n_mfcc=n_mfcc)


@st.cache_data(show_spinner=False, max_entries=64)
def contours(y: np.ndarray, *, sample_rate: int = 16000) -> pd.DataFrame:
    """Pitch (Hz, NaN when unvoiced) and energy (dB) over time of one preprocessed clip."""
    from ser_core.features import pitch_energy_contours

    c = pitch_energy_contours(y, sample_rate=sample_rate)
    return pd.DataFrame({"time_s": c.times_s, "pitch (Hz)": c.f0_hz, "energy (dB)": c.energy_db})


@st.cache_data(show_spinner=False, max_entries=128)
def clip_features(y: np.ndarray, *, kind: str, sample_rate: int = 16000) -> np.ndarray:
    """One feature kind (e.g. ``MFCC-16000-40``) of one preprocessed clip."""
    from ser_core.features import extract, parse_kind

    return extract(y, spec=parse_kind(kind), sample_rate=sample_rate)


class _FeatureStore:
    """The last few corpus feature matrices, shared by every session of this server."""

    def __init__(self, *, max_entries: int = 8):
        self.max_entries = max_entries
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple, np.ndarray] = OrderedDict()


@st.cache_resource
def _feature_store() -> _FeatureStore:
    return _FeatureStore()


def corpus_features(clip_paths: tuple[str, ...], *, kind: str, progress=None) -> np.ndarray:
    """One feature kind for many clips (stacked); ``progress(done, total)`` can drive ``st.progress``.

    Kept in memory per server (``st.cache_data`` cannot drive a progress bar created
    outside it); behind that, ``ser_core``'s disk cache makes a cold server warm fast.
    """
    from ser_core.features import extract_corpus, parse_kind

    store = _feature_store()
    key = (kind, hashlib.sha256("\n".join(clip_paths).encode()).hexdigest(),
           tuple(path_signature(p)[1] for p in clip_paths[:: max(1, len(clip_paths) // 50)]))
    with store.lock:
        if key in store.entries:
            store.entries.move_to_end(key)
            if progress is not None:
                progress(len(clip_paths), len(clip_paths))
            return store.entries[key]
    X = extract_corpus(list(clip_paths), spec=parse_kind(kind), progress=progress)
    X.setflags(write=False)
    with store.lock:
        store.entries[key] = X
        while len(store.entries) > store.max_entries:
            store.entries.popitem(last=False)
    return X


@st.cache_data(show_spinner=False, ttl=30)
def _artifacts(root: str, signature: tuple) -> pd.DataFrame:
    from ser_core.modelfolder.read import list_artifacts

    return pd.DataFrame(list_artifacts(Path(root)))


def artifacts(root: Path | None = None) -> pd.DataFrame:
    """Every model folder under ``root`` (default: the shared models folder) as a table, refreshed on change."""
    from ser_core.modelfolder.read import artifacts_root

    root = Path(root or artifacts_root())
    if not root.is_dir():
        return pd.DataFrame()
    return _artifacts(str(root), path_signature(root))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _model(path: str, signature: tuple):
    from ser_core.modelfolder.read import load_model

    return load_model(Path(path))  # pickles load only from the trusted models folder (ser_core.modelfolder.read.is_trusted)


def model(path: str | Path):
    """A loaded model folder, shared by every session (reloaded when the folder changes)."""
    return _model(str(path), path_signature(path))


@st.cache_data(show_spinner=False, max_entries=256)
def probabilities(y: np.ndarray, *, model_path: str, sample_rate: int = 16000) -> dict[str, float]:
    """``{emotion: probability}`` of one clip (raw audio at ``sample_rate``) under one model."""
    return model(model_path).probabilities(y, sample_rate=sample_rate)


@st.cache_data(show_spinner=False, max_entries=256)
def adaptation_features(y: np.ndarray, *, model_path: str, sample_rate: int = 16000) -> np.ndarray:
    """The feature row a speaker calibration reads from one clip (raw audio at ``sample_rate``)."""
    return model(model_path).adaptation_features(y, sample_rate=sample_rate)


@st.cache_data(show_spinner="Classifying each segment…", max_entries=32)
def segments(y: np.ndarray, *, model_path: str, sample_rate: int = 16000,
             segment_s: float = 3.0, hop_s: float = 1.5) -> pd.DataFrame:
    """Emotion per window of a long recording (see ``ser_core.serving.segments.predict_segments``)."""
    from ser_core.serving.segments import predict_segments

    from ui.tables import segment_timeline

    entries = predict_segments(y, model(model_path), sample_rate=sample_rate, segment_s=segment_s, hop_s=hop_s)
    return segment_timeline(entries)


@st.cache_data(show_spinner="Packing the model…", max_entries=8, ttl=600)
def model_zip(path: str) -> bytes:
    """A model folder as zip bytes, for a download button."""
    import io
    import zipfile

    buffer = io.BytesIO()
    folder = Path(path)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, (Path(folder.name) / file.relative_to(folder)).as_posix())
    return buffer.getvalue()


@st.cache_data(show_spinner="Writing the report…", max_entries=4, ttl=600)
def dashboard_report(table: pd.DataFrame, default_name: str | None, *, roots: tuple[str, ...]) -> bytes:
    """The stakeholder report (:func:`ser_core.reporting.report.report_html`) of the models in ``table``, cached ten minutes.

    ``roots``: the folders of model folders the visitor may use (``widgets.model_roots()``).
    """
    from ser_core.reporting.report import report_html

    names = set(table["name"])
    shown = [a for root in roots for a in artifacts(Path(root)).to_dict("records") if a["name"] in names]
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return report_html(rows, shown, default_name=default_name).encode("utf-8")


@st.cache_resource
def download_lock() -> threading.Lock:
    """One official download at a time on this server."""
    return threading.Lock()


@st.cache_resource
def _job_registry(root: str, max_running: int, max_per_owner: int):
    from ui.jobs import JobRegistry

    return JobRegistry(root=Path(root), max_running=max_running, max_per_owner=max_per_owner)


def job_registry():
    """The server's one background-training queue (per runs folder and limits)."""
    from ui import hosting

    policy = hosting.policy()
    return _job_registry(str(paths.runs_root()), policy.max_running_jobs, policy.max_queued_per_visitor)


@st.cache_data(show_spinner=False)
def feature_names(kind: str) -> list[str]:
    """Column names of a clip-level feature kind (MFCC vector or openSMILE functionals)."""
    from ser_core.features import parse_kind

    spec = parse_kind(kind)
    if spec.kind in ("EGEMAPS", "COMPARE"):
        from ser_core.features.opensmile import feature_names as smile_names

        return smile_names(spec.kind)
    return spec.feature_names()


@st.cache_data(show_spinner="Projecting the corpus to 2-D…", max_entries=8)
def projection(X: np.ndarray, *, method: str = "PCA", seed: int = 0) -> np.ndarray:
    """2-D coordinates of feature rows (see ``ser_core.reporting.projection.project_2d``)."""
    from ser_core.reporting.projection import project_2d

    return project_2d(X, method=method, seed=seed)
