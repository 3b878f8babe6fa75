"""Feature kinds named by their settings, for one clip or a whole corpus.

Kinds (the name is the spec; :func:`parse_kind` reads it, ``FeatureSpec.name`` writes it):

``MFCC-<sample_rate>-<n_mfcc>``
    The study's clip vector: n_mfcc MFCCs, their Δ and ΔΔ (librosa ``delta``, width 9),
    and a 40-band mel spectrogram in dB relative to the clip's maximum, each averaged
    over time and concatenated: ``3 * n_mfcc + 40`` values (160 for 40 MFCCs, 79 for 13).
    STFT exactly as the study (librosa defaults): Hann window, ``n_fft=2048``,
    ``hop_length=512`` samples at every sample rate (128 ms / 32 ms at 16 kHz); MFCCs
    come from a 128-band mel spectrogram in dB (ref 1.0, top_db 80), as
    ``librosa.feature.mfcc`` computes them. The STFT is computed once and both mel
    spectrograms are derived from it, in float32.
``FRAMES-<sample_rate>-<n_mfcc>-<n_frames>``
    The same four matrices per frame, shape ``(n_frames, 3 * n_mfcc + 40)``: cropped
    to the first n_frames frames, or padded at the end with zeros (Keras ``Masking``
    friendly). At 16 kHz one frame is 32 ms, so 128 frames cover 4.1 s.
``LOGMEL-<sample_rate>-<n_mels>-<n_frames>``
    A log-mel spectrogram for 2-D CNNs, shape ``(n_mels, n_frames)``, in dB relative to
    the clip's maximum (range -80..0 dB); window 64 ms and hop 16 ms at any sample rate
    (``n_fft=1024``, ``hop_length=256`` at 16 kHz); cropped at the end or padded with
    -80 dB (silence).
``EGEMAPS-<sample_rate>`` / ``COMPARE-<sample_rate>``
    openSMILE functionals: eGeMAPSv02 (88 values) and ComParE_2016 (6,373 values).
``W2V2-<pooling>-<layers>[:<model>]``
    Wav2Vec2 hidden states at 16 kHz pooled over time. pooling: ``mean`` (dim values)
    or ``meanstd`` (mean and standard deviation, 2 * dim). layers: ``all`` (the
    average of every hidden state, CNN output included), ``last``, or a layer index
    (``0`` = CNN feature projection). model: a hub id or a local folder, omitted for
    the default ``facebook/wav2vec2-base``.

Corpus extraction (:func:`extract_corpus`) loads and preprocesses each clip
(:func:`ser_core.audio.load_clip`), runs in parallel processes, reports progress, and
reuses :class:`ser_core.cache.FeatureCache`.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ser_core.audio import PreprocessSettings, load_clip, validate
from ser_core.cache import FeatureCache
from ser_core.errors import FeatureError, SERError

#: Bumped whenever extraction code changes its numbers, so stale cache entries miss.
FEATURE_VERSION = 1
DEFAULT_W2V2_MODEL = "facebook/wav2vec2-base"
STUDY_N_MELS = 40
STUDY_N_FFT = 2048
STUDY_HOP_LENGTH = 512
_MFCC_SOURCE_MELS = 128  # librosa.feature.mfcc's default mel bands
_TOP_DB = 80.0
_LOGMEL_WIN_S = 0.064
_LOGMEL_HOP_S = 0.016
_OPENSMILE_SIZES = {"EGEMAPS": 88, "COMPARE": 6373}
_W2V2_POOLINGS = ("mean", "meanstd")

#: Name patterns of every feature kind, with what each gives.
FEATURE_KINDS = {
    "MFCC-<sample_rate>-<n_mfcc>": "the study's clip vector: MFCC, Δ, ΔΔ and 40-band mel dB, time means "
    "(3*n_mfcc+40 values; e.g. MFCC-16000-40 -> 160)",
    "FRAMES-<sample_rate>-<n_mfcc>-<n_frames>": "the same per frame, padded/cropped: (n_frames, 3*n_mfcc+40), "
    "e.g. FRAMES-16000-40-128",
    "LOGMEL-<sample_rate>-<n_mels>-<n_frames>": "log-mel spectrogram for 2-D CNNs: (n_mels, n_frames), "
    "e.g. LOGMEL-16000-64-256",
    "EGEMAPS-<sample_rate>": "openSMILE eGeMAPSv02 functionals (88 values), e.g. EGEMAPS-16000",
    "COMPARE-<sample_rate>": "openSMILE ComParE_2016 functionals (6373 values), e.g. COMPARE-16000",
    "W2V2-<pooling>-<layers>[:<model>]": "Wav2Vec2 hidden states pooled over time; pooling mean|meanstd, "
    "layers all|last|<index>, model a hub id or local folder (default facebook/wav2vec2-base), "
    "e.g. W2V2-mean-all",
}

_KINDS = ("MFCC", "FRAMES", "LOGMEL", "EGEMAPS", "COMPARE", "W2V2")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature kind with all its settings; ``name`` is its canonical string.

    Build one with :func:`parse_kind` or directly, e.g. ``FeatureSpec("FRAMES",
    n_frames=128)``; fields a kind does not use must stay None.
    """

    kind: str
    sample_rate: int = 16000
    n_mfcc: int | None = None
    n_mels: int | None = None
    n_frames: int | None = None
    pooling: str | None = None
    layers: str | None = None
    model: str | None = None

    def __post_init__(self):
        kind = str(self.kind).upper()
        if kind not in _KINDS:
            raise FeatureError(f"unknown feature kind {self.kind!r}; expected one of {', '.join(_KINDS)}")
        object.__setattr__(self, "kind", kind)
        defaults = {
            "MFCC": dict(n_mfcc=40, n_mels=STUDY_N_MELS),
            "FRAMES": dict(n_mfcc=40, n_mels=STUDY_N_MELS, n_frames=128),
            "LOGMEL": dict(n_mels=64, n_frames=256),
            "EGEMAPS": {},
            "COMPARE": {},
            "W2V2": dict(pooling="mean", layers="all", model=DEFAULT_W2V2_MODEL),
        }[kind]
        for setting in ("n_mfcc", "n_mels", "n_frames", "pooling", "layers", "model"):
            value = getattr(self, setting)
            if setting not in defaults:
                if value is not None:
                    raise FeatureError(f"{kind} features take no {setting} (got {value!r})")
            elif value is None:
                object.__setattr__(self, setting, defaults[setting])
        if kind == "W2V2":  # accept layers=6 and model=Path(...)
            object.__setattr__(self, "layers", str(self.layers).lower())
            object.__setattr__(self, "pooling", str(self.pooling).lower())
            object.__setattr__(self, "model", os.fspath(self.model))
        self._validate()

    def _validate(self) -> None:
        sr = self.sample_rate
        if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 4000 <= sr <= 192000:
            raise FeatureError(f"sample_rate is {sr!r}; expected an integer from 4000 to 192000 Hz")
        object.__setattr__(self, "sample_rate", int(sr))
        if self.kind == "W2V2" and self.sample_rate != 16000:
            raise FeatureError(f"Wav2Vec2 expects 16000 Hz audio, got sample_rate={self.sample_rate}")
        if self.kind in ("MFCC", "FRAMES") and self.n_mels != STUDY_N_MELS:
            raise FeatureError(f"{self.kind} uses the study's {STUDY_N_MELS} mel bands, got n_mels={self.n_mels}")
        _check_int("n_mfcc", self.n_mfcc, 1, _MFCC_SOURCE_MELS)
        _check_int("n_mels", self.n_mels, 1, 512)
        _check_int("n_frames", self.n_frames, 1, 100_000)
        if self.pooling is not None and self.pooling not in _W2V2_POOLINGS:
            raise FeatureError(f"pooling is {self.pooling!r}; expected one of {', '.join(_W2V2_POOLINGS)}")
        if self.layers is not None and not (self.layers in ("all", "last") or re.fullmatch(r"\d+", self.layers)):
            raise FeatureError(f"layers is {self.layers!r}; expected 'all', 'last' or a layer index such as '6'")
        if self.model is not None and not str(self.model).strip():
            raise FeatureError("model is empty; expected a hub id or a local folder")

    @property
    def name(self) -> str:
        """The canonical name, e.g. ``MFCC-16000-40``."""
        if self.kind == "MFCC":
            return f"MFCC-{self.sample_rate}-{self.n_mfcc}"
        if self.kind == "FRAMES":
            return f"FRAMES-{self.sample_rate}-{self.n_mfcc}-{self.n_frames}"
        if self.kind == "LOGMEL":
            return f"LOGMEL-{self.sample_rate}-{self.n_mels}-{self.n_frames}"
        if self.kind in _OPENSMILE_SIZES:
            return f"{self.kind}-{self.sample_rate}"
        suffix = "" if self.model == DEFAULT_W2V2_MODEL else f":{self.model}"
        return f"W2V2-{self.pooling}-{self.layers}{suffix}"

    def __str__(self) -> str:
        return self.name

    @property
    def n_fft(self) -> int | None:
        """STFT window length in samples (None for kinds without an STFT of ours)."""
        if self.kind in ("MFCC", "FRAMES"):
            return STUDY_N_FFT
        if self.kind == "LOGMEL":
            return int(round(_LOGMEL_WIN_S * self.sample_rate))
        return None

    @property
    def hop_length(self) -> int | None:
        """STFT hop in samples (None for kinds without an STFT of ours)."""
        if self.kind in ("MFCC", "FRAMES"):
            return STUDY_HOP_LENGTH
        if self.kind == "LOGMEL":
            return int(round(_LOGMEL_HOP_S * self.sample_rate))
        return None

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of one clip's features; None when it depends on the model (W2V2)."""
        if self.kind == "MFCC":
            return (3 * self.n_mfcc + self.n_mels,)
        if self.kind == "FRAMES":
            return (self.n_frames, 3 * self.n_mfcc + self.n_mels)
        if self.kind == "LOGMEL":
            return (self.n_mels, self.n_frames)
        if self.kind in _OPENSMILE_SIZES:
            return (_OPENSMILE_SIZES[self.kind],)
        return None

    @property
    def parallel(self) -> bool:
        """Whether corpus extraction should fan out over processes (not for torch models)."""
        return self.kind != "W2V2"

    @property
    def cache_key(self) -> str:
        """The name plus the extraction code version (and a local model's file stamps) for cache keys."""
        key = f"{self.name}@v{FEATURE_VERSION}"
        folder = Path(self.model).expanduser() if self.kind == "W2V2" else None
        if folder is not None and folder.is_dir():  # retrained weights in the same folder must miss
            files = [(p.name, p.stat()) for p in folder.iterdir() if p.is_file()]
            stamps = sorted(f"{name}:{stat.st_size}:{stat.st_mtime_ns}" for name, stat in files)
            key += "@" + hashlib.blake2b("|".join(stamps).encode(), digest_size=8).hexdigest()
        return key

    def to_dict(self) -> dict:
        """Every setting as a JSON-ready dict: name, fields, the STFT used and the code version."""
        data = {"name": self.name}
        data.update({f.name: getattr(self, f.name) for f in fields(self)})
        data.update(n_fft=self.n_fft, hop_length=self.hop_length, feature_version=FEATURE_VERSION)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSpec":
        """Rebuild a spec from :meth:`to_dict` output (its name is authoritative)."""
        if "name" in data:
            return parse_kind(data["name"])
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def feature_names(self) -> list[str]:
        """Column names of the MFCC vector or of one FRAMES frame."""
        if self.kind not in ("MFCC", "FRAMES"):
            raise FeatureError(f"{self.kind} features have no fixed column names here; MFCC and FRAMES do")
        return (
            [f"mfcc_{i}" for i in range(self.n_mfcc)]
            + [f"delta_{i}" for i in range(self.n_mfcc)]
            + [f"delta2_{i}" for i in range(self.n_mfcc)]
            + [f"mel_db_{i}" for i in range(self.n_mels)]
        )


def _check_int(field: str, value, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise FeatureError(f"{field} is {value!r}; expected an integer from {low} to {high}")


_PATTERNS = [
    (re.compile(r"MFCC-(\d+)-(\d+)"), lambda m: FeatureSpec("MFCC", int(m[1]), n_mfcc=int(m[2]))),
    (
        re.compile(r"FRAMES-(\d+)-(\d+)-(\d+)"),
        lambda m: FeatureSpec("FRAMES", int(m[1]), n_mfcc=int(m[2]), n_frames=int(m[3])),
    ),
    (
        re.compile(r"LOGMEL-(\d+)-(\d+)-(\d+)"),
        lambda m: FeatureSpec("LOGMEL", int(m[1]), n_mels=int(m[2]), n_frames=int(m[3])),
    ),
    (re.compile(r"EGEMAPS-(\d+)"), lambda m: FeatureSpec("EGEMAPS", int(m[1]))),
    (re.compile(r"COMPARE-(\d+)"), lambda m: FeatureSpec("COMPARE", int(m[1]))),
    (
        re.compile(r"W2V2-([A-Za-z]+)-([A-Za-z0-9]+)(?::(.+))?"),
        lambda m: FeatureSpec("W2V2", pooling=m[1].lower(), layers=m[2].lower(), model=m[3] or DEFAULT_W2V2_MODEL),
    ),
]


def parse_kind(name: str | FeatureSpec) -> FeatureSpec:
    """Read a feature name such as ``MFCC-16000-40`` into its :class:`FeatureSpec`."""
    if isinstance(name, FeatureSpec):
        return name
    text = str(name).strip()
    head, sep, rest = text.partition(":")
    text = head.upper() + sep + rest  # kinds are case-insensitive, model ids are not
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return build(match)
    valid = "; ".join(FEATURE_KINDS)
    raise FeatureError(f"unknown feature kind {name!r}; expected one of: {valid}")


# ---------------------------------------------------------------------------
# the study's matrices, computed from one STFT


@lru_cache(maxsize=32)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, dtype=np.float32)


def _power_spectrogram(y: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    import librosa

    with warnings.catch_warnings():  # clips shorter than n_fft are fine: the frames are centre-padded
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        return np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2


@lru_cache(maxsize=16)
def _savgol_operators(width: int, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear maps of a Savitzky-Golay derivative filter (polyorder = deriv = order).

    A least-squares polynomial fit over a window is linear in the window's samples, so
    the derivative at the centre (interior frames) and at the first/last ``width // 2``
    positions (scipy's ``mode="interp"`` edge fits) are fixed weight vectors.
    """
    positions = np.arange(width, dtype=np.float64)
    fit = np.linalg.pinv(np.vander(positions, order + 1, increasing=True))  # (order+1, width)

    def derivative_at(t):
        return [math.perm(k, order) * t ** (k - order) if k >= order else 0.0 for k in range(order + 1)]

    half = width // 2
    centre = np.array(derivative_at(positions[half])) @ fit
    left = np.array([derivative_at(t) for t in positions[:half]]) @ fit
    right = np.array([derivative_at(t) for t in positions[width - half :]]) @ fit
    return centre, left, right


def _delta(data: np.ndarray, *, order: int, width: int = 9) -> np.ndarray:
    """librosa's ``feature.delta`` (Savitzky-Golay, width 9, mode "interp") as three matrix products.

    Same numbers as librosa to float32 rounding, without scipy's per-call edge
    polynomial fits (a third of the study vector's cost). Clips with fewer than
    ``width`` frames use the widest odd window that fits (librosa would refuse them).
    """
    n = data.shape[-1]
    if n < width:
        width = n if n % 2 else n - 1
        if width <= order:
            return np.zeros_like(data)
    centre, left, right = _savgol_operators(width, order)
    half = width // 2
    windows = np.lib.stride_tricks.sliding_window_view(data, width, axis=-1)
    out = np.empty_like(data)
    out[:, half : n - half] = windows @ centre.astype(data.dtype)
    out[:, :half] = data[:, :width] @ left.T.astype(data.dtype)
    out[:, n - half :] = data[:, n - width :] @ right.T.astype(data.dtype)
    return out


@dataclass(frozen=True)
class StudyFrames:
    """The study's per-frame matrices of one clip, each of shape (rows, n_frames)."""

    mfcc: np.ndarray
    delta: np.ndarray
    delta2: np.ndarray
    mel_db: np.ndarray
    sample_rate: int
    hop_length: int

    @property
    def times_s(self) -> np.ndarray:
        """Frame centre times in seconds."""
        return np.arange(self.mfcc.shape[1]) * self.hop_length / self.sample_rate

    def stacked(self) -> np.ndarray:
        """All four matrices stacked row-wise: (3 * n_mfcc + 40, n_frames)."""
        return np.concatenate([self.mfcc, self.delta, self.delta2, self.mel_db], axis=0)

    def clip_vector(self) -> np.ndarray:
        """Time means concatenated: the study's clip vector."""
        return self.stacked().mean(axis=1)


def study_frames(y: np.ndarray, *, sample_rate: int, n_mfcc: int = 40) -> StudyFrames:
    """Return the study's MFCC, Δ, ΔΔ and 40-band mel-dB matrices over time for one clip."""
    import librosa
    import scipy.fft

    y = validate(y, sample_rate=sample_rate)
    _check_int("n_mfcc", n_mfcc, 1, _MFCC_SOURCE_MELS)
    power = _power_spectrogram(y, n_fft=STUDY_N_FFT, hop_length=STUDY_HOP_LENGTH)
    mel_source = _mel_basis(sample_rate, STUDY_N_FFT, _MFCC_SOURCE_MELS) @ power
    mfcc = scipy.fft.dct(librosa.power_to_db(mel_source), axis=-2, type=2, norm="ortho")[:n_mfcc]
    mel_db = librosa.power_to_db(_mel_basis(sample_rate, STUDY_N_FFT, STUDY_N_MELS) @ power, ref=np.max)
    return StudyFrames(
        mfcc=mfcc,
        delta=_delta(mfcc, order=1),
        delta2=_delta(mfcc, order=2),
        mel_db=mel_db,
        sample_rate=sample_rate,
        hop_length=STUDY_HOP_LENGTH,
    )


def _fit_frames(matrix: np.ndarray, *, n_frames: int, axis: int, pad_value: float) -> np.ndarray:
    """Crop to the first n_frames along axis, or pad the end with pad_value."""
    n = matrix.shape[axis]
    if n >= n_frames:
        return np.take(matrix, np.arange(n_frames), axis=axis)
    pad = [(0, 0)] * matrix.ndim
    pad[axis] = (0, n_frames - n)
    return np.pad(matrix, pad, constant_values=pad_value)


def _log_mel(y: np.ndarray, *, spec: FeatureSpec) -> np.ndarray:
    import librosa

    power = _power_spectrogram(y, n_fft=spec.n_fft, hop_length=spec.hop_length)
    mel = _mel_basis(spec.sample_rate, spec.n_fft, spec.n_mels) @ power
    mel_db = librosa.power_to_db(mel, ref=np.max, top_db=_TOP_DB)
    return _fit_frames(mel_db, n_frames=spec.n_frames, axis=1, pad_value=-_TOP_DB)


@lru_cache(maxsize=2)
def _smile(kind: str):
    try:
        import opensmile
    except ImportError as exc:  # pragma: no cover - opensmile is in requirements.txt
        raise FeatureError(f"{kind} features need the opensmile package: pip install opensmile") from exc
    feature_set = opensmile.FeatureSet.eGeMAPSv02 if kind == "EGEMAPS" else opensmile.FeatureSet.ComParE_2016
    return opensmile.Smile(feature_set=feature_set, feature_level=opensmile.FeatureLevel.Functionals)


def _opensmile(y: np.ndarray, *, spec: FeatureSpec) -> np.ndarray:
    values = _smile(spec.kind).process_signal(y, spec.sample_rate).to_numpy(dtype=np.float32)
    return values[0]


def _wav2vec2(y: np.ndarray, *, spec: FeatureSpec) -> np.ndarray:
    from ser_core.wav2vec import hidden_states, pool_hidden_states

    states = hidden_states(y, model=spec.model, sample_rate=spec.sample_rate)
    return pool_hidden_states(states, pooling=spec.pooling, layers=spec.layers)


def extract(y: np.ndarray, *, spec: FeatureSpec | str, sample_rate: int) -> np.ndarray:
    """Compute one preprocessed clip's features (float32, shape ``spec.shape``)."""
    spec = parse_kind(spec)
    if sample_rate != spec.sample_rate:
        raise FeatureError(
            f"audio is at {sample_rate} Hz but {spec.name} expects {spec.sample_rate} Hz; "
            f"load it with PreprocessSettings(sample_rate={spec.sample_rate})"
        )
    y = validate(y, sample_rate=sample_rate)
    if spec.kind == "MFCC":
        out = study_frames(y, sample_rate=sample_rate, n_mfcc=spec.n_mfcc).clip_vector()
    elif spec.kind == "FRAMES":
        stacked = study_frames(y, sample_rate=sample_rate, n_mfcc=spec.n_mfcc).stacked()
        out = _fit_frames(stacked.T, n_frames=spec.n_frames, axis=0, pad_value=0.0)
    elif spec.kind == "LOGMEL":
        out = _log_mel(y, spec=spec)
    elif spec.kind in _OPENSMILE_SIZES:
        out = _opensmile(y, spec=spec)
    else:
        out = _wav2vec2(y, spec=spec)
    return np.ascontiguousarray(out, dtype=np.float32)


# ---------------------------------------------------------------------------
# pitch and energy for the dashboard


@dataclass(frozen=True)
class PitchEnergy:
    """Frame-wise pitch and energy of a clip: times in s, f0 in Hz (NaN where unvoiced)."""

    times_s: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    rms: np.ndarray
    energy_db: np.ndarray


def pitch_energy_contours(
    y: np.ndarray,
    *,
    sample_rate: int,
    fmin_hz: float = 65.0,
    fmax_hz: float = 500.0,
    hop_s: float = 0.016,
    voicing_db: float = 30.0,
) -> PitchEnergy:
    """Return f0 (YIN) and RMS energy contours; a frame is voiced within voicing_db of the loudest.

    YIN takes a few milliseconds per clip (pYIN would take hundreds), fast enough for
    the dashboard; voicing is judged from energy, and frames whose f0 sits on the
    search bounds (no clear period) count as unvoiced.
    """
    import librosa

    y = validate(y, sample_rate=sample_rate)
    hop = max(1, int(round(hop_s * sample_rate)))
    frame_length = 1 << max(8, math.ceil(math.log2(2.5 * sample_rate / fmin_hz)))
    padded = np.pad(y, (0, max(0, frame_length - len(y))))
    f0 = librosa.yin(padded, fmin=fmin_hz, fmax=fmax_hz, sr=sample_rate, frame_length=frame_length, hop_length=hop)
    rms = librosa.feature.rms(y=padded, frame_length=frame_length, hop_length=hop)[0]
    energy_db = librosa.amplitude_to_db(rms, ref=np.max, top_db=_TOP_DB)
    n = min(len(f0), len(rms))
    f0, rms, energy_db = f0[:n], rms[:n], energy_db[:n]
    voiced = (energy_db > -voicing_db) & (f0 > fmin_hz * 1.01) & (f0 < fmax_hz * 0.99)
    return PitchEnergy(
        times_s=np.arange(n) * hop / sample_rate,
        f0_hz=np.where(voiced, f0, np.nan).astype(np.float32),
        voiced=voiced,
        rms=rms.astype(np.float32),
        energy_db=energy_db.astype(np.float32),
    )


# ---------------------------------------------------------------------------
# whole corpora


def _clip_features(path: str, spec: FeatureSpec, settings: PreprocessSettings, augmentation) -> np.ndarray:
    y = load_clip(path, settings=settings)
    if augmentation is not None:
        y = augmentation(y, sample_rate=settings.sample_rate)
    return extract(y, spec=spec, sample_rate=settings.sample_rate)


def _settings_key(settings: PreprocessSettings, augmentation) -> str:
    """Cache key of the preprocessing, plus the augmentation when there is one."""
    return settings.key if augmentation is None else f"{settings.key}-{augmentation.key}"


def _extract_batch(items, spec: FeatureSpec, settings: PreprocessSettings, cache_root: str | None, augmentation=None):
    """Worker: compute, cache and return (index, array or None, error or None) per clip."""
    from threadpoolctl import threadpool_limits

    cache = FeatureCache(cache_root) if cache_root is not None else None
    results = []
    # Small matrices: multi-threaded BLAS only adds contention (2x slower on 2 busy cores).
    with threadpool_limits(limits=1, user_api="blas") if spec.parallel else nullcontext():
        for index, path, content_hash in items:
            try:
                array = _clip_features(path, spec, settings, augmentation)
            except Exception as exc:  # reported per clip; the caller decides to raise or skip
                results.append((index, None, exc))
                continue
            if cache is not None:
                cache.save(content_hash, array, spec_key=spec.cache_key, settings_key=_settings_key(settings, augmentation))
            results.append((index, array, None))
    return results


def _n_workers(n_jobs: int | None) -> int:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_jobs is None or n_jobs == -1:
        return available
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise FeatureError(f"n_jobs is {n_jobs!r}; expected None (all cores), -1 or a positive integer")
    return n_jobs


def _clip_error(path: str, spec: FeatureSpec, exc: BaseException) -> SERError:
    message = f"could not extract {spec.name} from '{path}': {exc}"
    if isinstance(exc, SERError):
        try:
            return type(exc)(message)
        except TypeError:
            pass
    return FeatureError(f"{message} ({type(exc).__name__})")


def failed_rows(features: np.ndarray) -> np.ndarray:
    """Boolean mask of the clips :func:`extract_corpus` skipped (rows that are all NaN)."""
    flat = np.asarray(features).reshape(len(features), -1)
    return np.isnan(flat).all(axis=1) if flat.shape[1] else np.zeros(len(features), dtype=bool)


def extract_corpus(
    paths: Sequence[str | os.PathLike],
    *,
    spec: FeatureSpec | str,
    settings: PreprocessSettings = PreprocessSettings(),
    cache: FeatureCache | None | bool = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_error: str = "raise",
    augmentation: Callable[..., np.ndarray] | None = None,
) -> np.ndarray:
    """Extract one feature kind for many clips, in parallel, through the cache.

    Parameters
    ----------
    paths : sequence of paths
        Audio files; the output keeps their order (first axis = clips).
    spec : FeatureSpec or str
        The feature kind, e.g. ``"MFCC-16000-40"``.
    settings : PreprocessSettings
        Trim/normalise settings; its sample_rate is replaced by ``spec.sample_rate``.
    cache : FeatureCache, None or False
        None uses ``FeatureCache()`` (``$SER_CACHE_DIR`` or ``~/.cache/ser_studio``);
        False disables caching.
    n_jobs : int or None
        Worker processes; None or -1 means every available core, 1 runs in this process.
        Wav2Vec2 always runs in this process (torch uses the cores itself).
    progress : callable(done, total) or None
        Called with the number of clips finished so far, at least once at the end.
    on_error : {"raise", "skip"}
        "raise": the first clip that fails raises its error class with the file's path
        in the message. "skip": failed clips become all-NaN rows (see
        :func:`failed_rows`) and a warning lists them.
    augmentation : callable or None
        Applied to each preprocessed clip before extraction, e.g.
        :class:`ser_core.augment.SpeedPerturbation`; it needs a ``key`` naming it in the cache.

    Returns
    -------
    np.ndarray
        float32, shape ``(len(paths), *spec.shape)``.
    """
    spec = parse_kind(spec)
    if on_error not in ("raise", "skip"):
        raise FeatureError(f"on_error is {on_error!r}; expected 'raise' or 'skip'")
    settings = replace(settings, sample_rate=spec.sample_rate)
    paths = [os.fspath(p) for p in paths]
    workers = _n_workers(n_jobs) if spec.parallel else 1
    if cache is None:
        cache = FeatureCache()
    elif cache is False:
        cache = None
    total = len(paths)
    if total == 0:
        raise FeatureError("received 0 clips; expected at least one audio path")
    for path in paths:
        if not os.path.isfile(path):
            raise FeatureError(f"no audio file at '{path}'; expected an existing file")

    keys = dict(spec_key=spec.cache_key, settings_key=_settings_key(settings, augmentation))
    hashes = [cache.content_hash(p) for p in paths] if cache is not None else [""] * total
    if cache is not None:
        cache.save_hashes()
        stacked = cache.load_corpus(hashes, **keys)
        if stacked is not None:
            _report(progress, total, total)
            return stacked

    results: list[np.ndarray | None] = [None] * total
    todo = []
    for index, (path, content_hash) in enumerate(zip(paths, hashes)):
        hit = cache.load(content_hash, **keys) if cache is not None else None
        if hit is not None:
            results[index] = hit
        else:
            todo.append((index, path, content_hash))
    done = total - len(todo)
    _report(progress, done, total)

    failures: list[tuple[str, BaseException]] = []
    cache_root = str(cache.root) if cache is not None else None
    for batch in _run_batches(todo, spec, settings, cache_root, workers, augmentation):
        for index, array, exc in batch:
            if exc is not None:
                if on_error == "raise":
                    raise _clip_error(paths[index], spec, exc) from exc
                failures.append((paths[index], exc))
            results[index] = array
        done += len(batch)
        _report(progress, done, total)

    stacked = _stack(results, spec=spec, paths=paths)
    if failures:
        listed = "; ".join(f"{p}: {e}" for p, e in failures[:5])
        warnings.warn(f"skipped {len(failures)} of {total} clips ({listed})", stacklevel=2)
    elif cache is not None:
        cache.save_corpus(hashes, stacked, **keys)
    return stacked


def _report(progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _run_batches(todo, spec, settings, cache_root, workers, augmentation=None):
    """Yield lists of per-clip results, batch by batch, in order."""
    if not todo:
        return
    if workers == 1 or len(todo) < 2 * workers:
        size = max(1, min(16, math.ceil(len(todo) / 20)))
        for start in range(0, len(todo), size):
            yield _extract_batch(todo[start : start + size], spec, settings, cache_root, augmentation)
        return
    from joblib import Parallel, delayed

    size = max(1, min(32, math.ceil(len(todo) / (workers * 6))))
    batches = [todo[start : start + size] for start in range(0, len(todo), size)]
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
    yield from parallel(delayed(_extract_batch)(batch, spec, settings, cache_root, augmentation) for batch in batches)


def _stack(results, *, spec: FeatureSpec, paths) -> np.ndarray:
    shapes = {r.shape for r in results if r is not None}
    if not shapes:
        raise FeatureError(f"every one of the {len(paths)} clips failed to give {spec.name} features")
    if len(shapes) > 1:
        raise FeatureError(f"{spec.name} gave clips of different shapes {sorted(shapes)}; expected one shape")
    shape = shapes.pop()
    out = np.full((len(results), *shape), np.nan, dtype=np.float32)
    for index, array in enumerate(results):
        if array is not None:
            out[index] = array
    return out

