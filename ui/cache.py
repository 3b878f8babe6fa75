"""Streamlit caching at the app boundary: corpus indexes, audio, features and models.

``ser_core`` never imports streamlit; every ``st.cache_data`` / ``st.cache_resource``
lives here. Heavy modules (features, artifacts, torch, tensorflow) are imported inside
the functions so the landing page stays light.

Memory is bounded in bytes, not entries: decoded audio and the arrays made from it,
corpus feature matrices, loaded models and model downloads each live in a
:class:`ByteLRU` with its share of ``$SER_CACHE_MB`` (:data:`CACHE_SHARES`); one value
may take at most half of its cache (a bigger one is computed and used, not kept). What
``st.cache_data`` still keeps is small (predictions, timelines, tables) or capped in count
(indexes, reports).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ui import paths

LOGGER = logging.getLogger(__name__)

#: Megabytes of memory for the byte-bounded caches together (``$SER_CACHE_MB``).
CACHE_MB_ENV = "SER_CACHE_MB"
DEFAULT_CACHE_MB = 512
#: Each cache's share of that memory.
CACHE_SHARES = {"audio": 0.4, "corpus features": 0.3, "models": 0.2, "downloads": 0.1}
#: The largest share of its cache one value may take; a bigger value is used but not kept.
MAX_ENTRY_SHARE = 0.5


def nbytes(value) -> int:
    """Bytes a cached value holds: arrays, tables, bytes, and containers or dataclasses of them."""
    import dataclasses

    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum())
    if isinstance(value, pd.Series):
        return int(value.memory_usage(deep=True))
    if isinstance(value, dict):
        return sum(nbytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(item) for item in vars(value).values())
    return 64  # a number, a string, None: negligible


def _frozen(value):
    """``value`` with its arrays (also inside tuples, lists and dataclasses) read-only: every session shares it."""
    import dataclasses

    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _frozen(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in vars(value).values():
            _frozen(item)
    return value


class ByteLRU:
    """Values by key, least recently used first out, within a budget of bytes; shared by every session.

    Parameters
    ----------
    max_bytes : int
        The budget: after an insertion the oldest values leave until the rest fit.
    max_entry_bytes : int, optional
        A value bigger than this is returned but not kept (default: half the budget), so one
        long recording cannot push everything else out.
    size_of : callable
        Bytes of a value (default :func:`nbytes`).
    freeze : bool
        Make a kept value's arrays read-only (not for loaded models, which own theirs).

    A key is made once at a time: a second caller for a key being made waits for that value
    (a visitor asking for the model the background warm-up is loading does not load it again).
    """

    def __init__(self, max_bytes: int, *, max_entry_bytes: int | None = None, size_of=nbytes, freeze=True):
        self.max_bytes = int(max_bytes)
        self.max_entry_bytes = int(max_entry_bytes if max_entry_bytes is not None else max_bytes * MAX_ENTRY_SHARE)
        self.size_of, self.freeze = size_of, freeze
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict = {}  # key -> the lock its maker holds
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key) -> bool:
        return key in self._entries

    def busy(self, key) -> bool:
        """True when ``key`` is kept or being made."""
        with self._lock:
            return key in self._entries or key in self._making

    def _kept(self, key):
        """``(True, value)`` when ``key`` is kept (now the most recent), else ``(False, None)``."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key][0]
            return False, None

    def get(self, key, make):
        """The value kept for ``key``, else ``make()`` (kept when it fits)."""
        found, value = self._kept(key)
        if found:
            return value
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # outside the store's lock: other keys and sessions go on meanwhile
            found, value = self._kept(key)
            if not found:
                value = make()
                self._keep(key, value)
        with self._lock:
            self._making.pop(key, None)
        return value

    def _keep(self, key, value) -> None:
        """Keep ``value`` when it fits, then drop the least recently used until the rest fit the budget."""
        size = int(self.size_of(value))
        if size > self.max_entry_bytes:
            return
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (_frozen(value) if self.freeze else value, size)
                self.total_bytes += size
            while self.total_bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.total_bytes -= dropped

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._entries.clear()
            self.total_bytes = 0


def cache_budget_bytes() -> int:
    """The memory of the byte-bounded caches together: ``$SER_CACHE_MB`` (default 512 MB)."""
    raw = os.environ.get(CACHE_MB_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_CACHE_MB
    except ValueError:
        megabytes = DEFAULT_CACHE_MB
    return int(max(megabytes, 1.0) * 2**20)


@st.cache_resource
def _memory(name: str, budget_bytes: int) -> ByteLRU:
    if name == "models":
        return ByteLRU(int(budget_bytes * CACHE_SHARES[name]), size_of=_folder_bytes, freeze=False)
    return ByteLRU(int(budget_bytes * CACHE_SHARES[name]))


def memory(name: str) -> ByteLRU:
    """The server's byte-bounded cache ``name`` (a key of :data:`CACHE_SHARES`)."""
    return _memory(name, cache_budget_bytes())


def _digest(y: np.ndarray) -> str:
    """A key for an array: its content's hash with its dtype and shape."""
    y = np.ascontiguousarray(y)
    return f"{hashlib.blake2b(memoryview(y).cast('B'), digest_size=16).hexdigest()}-{y.dtype}-{y.shape}"


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
    from ser_core.data.splits import SplitSpec

    spec = None if protocol is None else SplitSpec(protocol, n_folds=n_folds)
    return report_of(_corpus_index(path, signature), spec=spec)


def leakage_report(path: str, *, protocol: str | None, n_folds: int = 5):
    """The :func:`ser_core.data.leakage.leakage_report` of a corpus under one protocol (None: the corpus alone)."""
    return _leakage_report(str(path), path_signature(path), protocol, int(n_folds))


def audio(payload: bytes | str, *, sample_rate: int = 16000,
          max_duration_s: float | None = None) -> np.ndarray:
    """Decoded mono float32 audio at ``sample_rate`` (payload: file bytes or a path); read-only, shared."""
    from ser_core.audio.preprocess import load_audio

    if isinstance(payload, str):
        key = ("path", path_signature(payload), sample_rate, max_duration_s)
    else:
        key = ("bytes", hashlib.blake2b(payload, digest_size=16).hexdigest(), len(payload), sample_rate, max_duration_s)
    source = Path(payload) if isinstance(payload, str) else payload
    return memory("audio").get(key, lambda: load_audio(source, sample_rate=sample_rate, max_duration_s=max_duration_s))


def preprocessed(y: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
    """The default preprocessing (DC removal, trim at 20 dB, peak-normalise) of decoded audio."""
    from ser_core.audio.preprocess import PreprocessSettings, preprocess_with

    return memory("audio").get(("preprocessed", _digest(y), sample_rate),
                               lambda: preprocess_with(y, settings=PreprocessSettings(sample_rate=sample_rate)))


def study_frames(y: np.ndarray, *, sample_rate: int = 16000, n_mfcc: int = 40):
    """The MFCC / Δ / ΔΔ / mel matrices of one clip (see ``ser_core.features.study_frames``)."""
    from ser_core.features import study_frames as frames

    return memory("audio").get(("frames", _digest(y), sample_rate, n_mfcc),
                               lambda: frames(y, sample_rate=sample_rate, n_mfcc=n_mfcc))


def contours(y: np.ndarray, *, sample_rate: int = 16000) -> pd.DataFrame:
    """Pitch (Hz, NaN when unvoiced) and energy (dB) over time of one preprocessed clip."""
    from ser_core.features import pitch_energy_contours

    def make():
        c = pitch_energy_contours(y, sample_rate=sample_rate)
        return pd.DataFrame({"time_s": c.times_s, "pitch (Hz)": c.f0_hz, "energy (dB)": c.energy_db})

    return memory("audio").get(("contours", _digest(y), sample_rate), make).copy()


def clip_features(y: np.ndarray, *, kind: str, sample_rate: int = 16000) -> np.ndarray:
    """One feature kind (e.g. ``MFCC-16000-40``) of one preprocessed clip."""
    from ser_core.features import extract, parse_kind

    return memory("audio").get(("features", _digest(y), kind, sample_rate),
                               lambda: extract(y, spec=parse_kind(kind), sample_rate=sample_rate))


def corpus_features(clip_paths: tuple[str, ...], *, kind: str, progress=None) -> np.ndarray:
    """One feature kind for many clips (stacked); ``progress(done, total)`` can drive ``st.progress``.

    Kept in memory per server (``st.cache_data`` cannot drive a progress bar created
    outside it); behind that, ``ser_core``'s disk cache makes a cold server warm fast.
    """
    from ser_core.features import extract_corpus, parse_kind

    key = (kind, hashlib.sha256("\n".join(clip_paths).encode()).hexdigest(),
           tuple(path_signature(p)[1] for p in clip_paths[:: max(1, len(clip_paths) // 50)]))
    made = []

    def make():
        made.append(True)
        return extract_corpus(list(clip_paths), spec=parse_kind(kind), progress=progress)

    X = memory("corpus features").get(key, make)
    if not made and progress is not None:
        progress(len(clip_paths), len(clip_paths))
    X.setflags(write=False)
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


@st.cache_data(show_spinner=False, max_entries=32)
def _reliability(folder: str, signature: tuple):
    from ser_core.modelfolder.reliability import folder_reliability

    return folder_reliability(Path(folder))


def reliability(folder: str | Path):
    """A model folder's reliability table (:func:`ser_core.modelfolder.reliability.folder_reliability`), or None."""
    return _reliability(str(folder), path_signature(Path(folder) / "predictions.npz"))


def _folder_bytes(loaded) -> int:
    """What a loaded model is counted as: the bytes of its folder's files (weights, graph, members)."""
    folder = Path(loaded.path)
    return sum(file.stat().st_size for file in folder.rglob("*") if file.is_file())


def _load_model(path: str):
    """Load a model folder, aiortc imported first: imported after tensorflow, it crashes the process (see :mod:`ui`)."""
    import aiortc  # noqa: F401

    from ser_core.modelfolder.read import load_model

    return load_model(Path(path))  # pickles load only from trusted folders (modelfolder.read.is_trusted)


def _model(path: str, signature: tuple):
    models, key = memory("models"), (path, signature)
    # The spinner also shows while the background warm-up (warm_up) is loading this model.
    with st.spinner("Loading the model…") if key not in models else contextlib.nullcontext():
        return models.get(key, lambda: _load_model(path))


def model(path: str | Path):
    """A loaded model folder, shared by every session (reloaded when the folder changes)."""
    return _model(str(path), path_signature(path))


def model_signature(loaded) -> str:
    """The cache key of a loaded model: its folder's signature (the config, with every file's SHA-256)."""
    return loaded.signature


#: How the caches below key a model argument (by type name, which survives Streamlit's module reloads).
MODEL_HASH_FUNCS = {"ser_core.modelfolder.loaded.LoadedModel": model_signature,
                    "ser_core.modelfolder.loaded.EnsembleModel": model_signature}


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=MODEL_HASH_FUNCS)
def prediction(y: np.ndarray, *, model, sample_rate: int = 16000):
    """The :class:`~ser_core.modelfolder.prediction.Prediction` of one clip (raw audio at ``sample_rate``) under a loaded model."""
    return model.predict_audio(y, sample_rate=sample_rate)


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=MODEL_HASH_FUNCS)
def features(y: np.ndarray, *, model, sample_rate: int = 16000):
    """A loaded model's features of one clip (raw audio at ``sample_rate``), e.g. for speaker adaptation."""
    return model.features(y, sample_rate=sample_rate)


@st.cache_data(show_spinner="Classifying each window…", max_entries=32, hash_funcs=MODEL_HASH_FUNCS)
def timeline(y: np.ndarray, *, model, sample_rate: int = 16000, name: str = ""):
    """The :class:`~ser_core.modelfolder.prediction.Timeline` of a long recording (``ser_core.serving.segments``' windows)."""
    from ser_core.serving.segments import predict_segments

    return predict_segments(y, model, sample_rate=sample_rate, name=name)


def model_zip(path: str) -> bytes:
    """A model folder as zip bytes, for a download button."""
    import io
    import zipfile

    def make():
        buffer = io.BytesIO()
        folder = Path(path)
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, (Path(folder.name) / file.relative_to(folder)).as_posix())
        return buffer.getvalue()

    return memory("downloads").get(("zip", path_signature(path)), make)


@st.cache_data(show_spinner="Writing the report…", max_entries=4, ttl=600)
def dashboard_report(table: pd.DataFrame, default_name: str | None, *, roots: tuple[str, ...],
                     corpus: dict | None = None) -> bytes:
    """The stakeholder report (:func:`ser_core.reporting.report.report_html`) of the models in ``table``, cached ten minutes.

    ``roots``: the folders of model folders the visitor may use (``widgets.model_roots()``);
    ``corpus``: the loaded corpus's :func:`ser_core.data.index.summarize`, for the report's corpus section.
    """
    from ser_core.reporting.report import report_html

    names = set(table["name"])
    shown = [a for root in roots for a in artifacts(Path(root)).to_dict("records") if a["name"] in names]
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return report_html(rows, shown, default_name=default_name, corpus=corpus).encode("utf-8")


#: Modules the other pages need, imported in the background once a page is drawn (aiortc first: see :mod:`ui`).
WARM_MODULES = ("aiortc", "plotly.express", "ser_core.reporting.charts", "ser_core.features",
                "ser_core.audio.preprocess", "ui.predict_tabs")
#: Seconds the warm-up waits after the first page's script has run: the browser is still drawing that page
#: (Streamlit's scripts, then the charts) and on a small server the two would share the CPU.
WARM_UP_DELAY_S = 2.0


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Warm the server once, in a background thread, so no visitor's first page or prediction waits.

    It imports :data:`WARM_MODULES`, then loads the default model into the models cache
    (the one :func:`model` reads, shared by every session) and classifies one synthetic
    second with it (:func:`_warm_model`) unless a visitor has loaded it meanwhile. app.py
    calls it after a page's script has run, and it starts :data:`WARM_UP_DELAY_S` later, so
    the first render does not share the CPU with it. Nothing heavy (tensorflow, torch) is
    imported: models are served by ONNX Runtime.
    """
    from ser_core.errors import ArtifactError
    from ser_core.modelfolder.read import default_model_dir

    models = memory("models")  # resolved here: the thread has no Streamlit script context
    try:
        default = str(default_model_dir())
    except ArtifactError:  # no default model: Predict says so when it is opened
        default = None

    def warm() -> None:
        time.sleep(WARM_UP_DELAY_S)
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # a missing optional package shows where it is used, not here
                continue
        if default is not None:
            try:
                _warm_model(models, default)
            except Exception as error:  # a broken model: Predict says so when it is opened
                LOGGER.warning("the default model %s was not warmed up: %s", default, error)

    thread = threading.Thread(target=warm, name="ser-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_model(models: ByteLRU, folder: str) -> None:
    """Load a model folder into ``models`` as :func:`model` does, and classify one second of a synthetic voice.

    The second goes the Predict page's way, WAV bytes decoded then classified, so the
    decoders, the ONNX sessions (the Whisper encoder's included) and their first run are
    ready. Nothing is done when the model is kept or being loaded: the visitor who asked for
    it warms it, and two first predictions at once would only slow each other.
    """
    import io

    import soundfile as sf

    from ser_core.audio.preprocess import load_audio

    key = (folder, path_signature(folder))
    if models.busy(key):
        return
    loaded = models.get(key, lambda: _load_model(folder))
    rate = loaded.sample_rate
    t = np.arange(rate, dtype=np.float32) / rate
    phase = 2 * np.pi * np.cumsum(140 + 15 * np.sin(2 * np.pi * 3 * t)) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    wav = io.BytesIO()
    sf.write(wav, (0.3 * voice).astype(np.float32), rate, format="WAV")
    loaded.predict_audio(load_audio(wav.getvalue(), sample_rate=rate), sample_rate=rate)


@st.cache_resource
def download_lock() -> threading.Lock:
    """One official download at a time on this server."""
    return threading.Lock()


@st.cache_resource
def _job_registry(root: str, max_running: int, max_per_owner: int):
    from ui.jobs import JobRegistry

    return JobRegistry(root=Path(root), max_running=max_running, max_per_owner=max_per_owner)


@st.cache_resource
def _long_clip_queue(max_running: int, max_waiting: int):
    from ui.jobs import WorkQueue

    return WorkQueue(max_running=max_running, max_waiting=max_waiting)


def long_clip_queue():
    """The server's one queue for analysing long recordings (``SER_MAX_LONG_CLIPS`` at once)."""
    from ui import hosting

    policy = hosting.policy()
    return _long_clip_queue(policy.max_long_clips, policy.max_long_clips_waiting)


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
