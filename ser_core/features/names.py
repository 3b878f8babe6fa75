"""Feature kinds named by their settings: ``FeatureSpec`` and the grammar of names.


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
    the clip's maximum (range -80..0 dB); window 25 ms and hop 10 ms at any sample rate
    (``n_fft=400``, ``hop_length=160`` at 16 kHz); centre-cropped, or padded on both
    sides with -80 dB (silence), to n_frames (300 frames = 3 s).
``EGEMAPS-<sample_rate>`` / ``COMPARE-<sample_rate>``
    openSMILE functionals: eGeMAPSv02 (88 values) and ComParE_2016 (6,373 values).
``W2V2-<pooling>-<layers>[:<model>]``
    Wav2Vec2 hidden states at 16 kHz pooled over time. pooling: ``mean`` (dim values)
    or ``meanstd`` (mean and standard deviation, 2 * dim). layers: ``all`` (the
    average of every hidden state, CNN output included), ``last``, or a layer index
    (``0`` = CNN feature projection). model: a hub id or a local folder, omitted for
    the default ``facebook/wav2vec2-base``.
``WHISPER-BASE[-<layers>]``
    Whisper-base encoder hidden states (OpenAI, MIT; offline, from two pip packages:
    :mod:`ser_core.features.whisper`) at 16 kHz, mean and standard deviation over time:
    1,024 values. layers: ``L0`` (the convolutional front end) to ``L6`` (the top layer
    after the final LayerNorm, what CTranslate2's ``encode`` gives; the default, named
    ``WHISPER-BASE``), or ``ALL`` (the average of the seven hidden states).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ser_core.errors import FeatureError
from ser_core.features.whisper import MODEL_SHA256 as WHISPER_SHA256
from ser_core.features.whisper import N_LAYERS as WHISPER_N_LAYERS
from ser_core.features.whisper import WIDTH as WHISPER_WIDTH

#: Bumped whenever extraction code changes its numbers, so stale cache entries miss.
FEATURE_VERSION = 2
DEFAULT_W2V2_MODEL = "facebook/wav2vec2-base"
STUDY_N_MELS = 40
STUDY_N_FFT = 2048
STUDY_HOP_LENGTH = 512
MFCC_SOURCE_MELS = 128  # librosa.feature.mfcc's default mel bands
LOGMEL_WIN_S = 0.025
LOGMEL_HOP_S = 0.010
OPENSMILE_SIZES = {"EGEMAPS": 88, "COMPARE": 6373}
_W2V2_POOLINGS = ("mean", "meanstd")

#: Name patterns of every feature kind, with what each gives.
FEATURE_KINDS = {
    "MFCC-<sample_rate>-<n_mfcc>": "the study's clip vector: MFCC, Δ, ΔΔ and 40-band mel dB, time means "
    "(3*n_mfcc+40 values; e.g. MFCC-16000-40 -> 160)",
    "FRAMES-<sample_rate>-<n_mfcc>-<n_frames>": "the same per frame, padded/cropped: (n_frames, 3*n_mfcc+40), "
    "e.g. FRAMES-16000-40-128",
    "LOGMEL-<sample_rate>-<n_mels>-<n_frames>": "log-mel spectrogram for 2-D CNNs: (n_mels, n_frames), 25 ms window, "
    "10 ms hop, centred, e.g. LOGMEL-16000-64-300",
    "EGEMAPS-<sample_rate>": "openSMILE eGeMAPSv02 functionals (88 values), e.g. EGEMAPS-16000",
    "COMPARE-<sample_rate>": "openSMILE ComParE_2016 functionals (6373 values), e.g. COMPARE-16000",
    "W2V2-<pooling>-<layers>[:<model>]": "Wav2Vec2 hidden states pooled over time; pooling mean|meanstd, "
    "layers all|last|<index>, model a hub id or local folder (default facebook/wav2vec2-base), "
    "e.g. W2V2-mean-all",
    "WHISPER-BASE[-<layers>]": "Whisper-base encoder states, mean and std over time (1024 values), offline from "
    "pip packages; layers L0..L6 (default L6, the top) or ALL (their average), e.g. WHISPER-BASE-L4",
}

#: Feature kinds the Training page offers (any other valid name can be typed in).
SUGGESTED_FEATURES = ("MFCC-16000-40", "MFCC-16000-13", "FRAMES-16000-40-128", "LOGMEL-16000-64-300",
                      "EGEMAPS-16000", "COMPARE-16000", "W2V2-mean-all")

_KINDS = ("MFCC", "FRAMES", "LOGMEL", "EGEMAPS", "COMPARE", "W2V2", "WHISPER")


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
            "LOGMEL": dict(n_mels=64, n_frames=300),
            "EGEMAPS": {},
            "COMPARE": {},
            "W2V2": dict(pooling="mean", layers="all", model=DEFAULT_W2V2_MODEL),
            "WHISPER": dict(pooling="meanstd", layers=str(WHISPER_N_LAYERS)),
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
        if kind == "WHISPER":  # accept layers=4, "L4" and "last"
            layers = str(self.layers).lower().removeprefix("l") if str(self.layers).lower() != "last" else "last"
            object.__setattr__(self, "layers", str(WHISPER_N_LAYERS) if layers == "last" else layers)
        self._validate()

    def _validate(self) -> None:
        sr = self.sample_rate
        if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 4000 <= sr <= 192000:
            raise FeatureError(f"sample_rate is {sr!r}; expected an integer from 4000 to 192000 Hz")
        object.__setattr__(self, "sample_rate", int(sr))
        if self.kind == "W2V2" and self.sample_rate != 16000:
            raise FeatureError(f"Wav2Vec2 expects 16000 Hz audio, got sample_rate={self.sample_rate}")
        if self.kind == "WHISPER":
            if self.sample_rate != 16000:
                raise FeatureError(f"Whisper expects 16000 Hz audio, got sample_rate={self.sample_rate}")
            if self.pooling != "meanstd":
                raise FeatureError(f"WHISPER features pool with 'meanstd', got pooling={self.pooling!r}")
            if not (self.layers == "all" or self.layers.isdigit() and int(self.layers) <= WHISPER_N_LAYERS):
                raise FeatureError(
                    f"layers is {self.layers!r}; expected 'ALL' or L0..L{WHISPER_N_LAYERS} for Whisper-base"
                )
        if self.kind in ("MFCC", "FRAMES") and self.n_mels != STUDY_N_MELS:
            raise FeatureError(f"{self.kind} uses the study's {STUDY_N_MELS} mel bands, got n_mels={self.n_mels}")
        _check_int("n_mfcc", self.n_mfcc, 1, MFCC_SOURCE_MELS)
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
        if self.kind in OPENSMILE_SIZES:
            return f"{self.kind}-{self.sample_rate}"
        if self.kind == "WHISPER":
            if self.layers == str(WHISPER_N_LAYERS):
                return "WHISPER-BASE"
            return "WHISPER-BASE-ALL" if self.layers == "all" else f"WHISPER-BASE-L{self.layers}"
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
            return int(round(LOGMEL_WIN_S * self.sample_rate))
        return None

    @property
    def hop_length(self) -> int | None:
        """STFT hop in samples (None for kinds without an STFT of ours)."""
        if self.kind in ("MFCC", "FRAMES"):
            return STUDY_HOP_LENGTH
        if self.kind == "LOGMEL":
            return int(round(LOGMEL_HOP_S * self.sample_rate))
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
        if self.kind in OPENSMILE_SIZES:
            return (OPENSMILE_SIZES[self.kind],)
        if self.kind == "WHISPER":
            return (2 * WHISPER_WIDTH,)
        return None

    @property
    def parallel(self) -> bool:
        """Whether corpus extraction should fan out over processes (not for torch models)."""
        return self.kind != "W2V2"

    @property
    def cache_key(self) -> str:
        """The name plus the extraction code version (and the weights' hash or a local model's file stamps)."""
        key = f"{self.name}@v{FEATURE_VERSION}"
        if self.kind == "WHISPER":  # other weights must miss
            key += f"@{WHISPER_SHA256[:12]}"
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
    (re.compile(r"WHISPER-BASE(?:-(ALL|LAST|L\d+))?"), lambda m: FeatureSpec("WHISPER", layers=m[1] or "last")),
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
