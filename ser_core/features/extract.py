"""One preprocessed clip in, one feature array out, whatever the kind."""

from __future__ import annotations

import numpy as np

from ser_core.audio.preprocess import validate
from ser_core.errors import FeatureError
from ser_core.features.names import OPENSMILE_SIZES, FeatureSpec, parse_kind


def extract(y: np.ndarray, *, spec: FeatureSpec | str, sample_rate: int) -> np.ndarray:
    """Compute one preprocessed clip's features (float32, shape ``spec.shape``).

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> extract(np.sin(2 * np.pi * 220 * t).astype("float32"), spec="MFCC-16000-40", sample_rate=16000).shape
    (160,)
    """
    from ser_core.features import spectral

    spec = parse_kind(spec)
    if sample_rate != spec.sample_rate:
        raise FeatureError(
            f"audio is at {sample_rate} Hz but {spec.name} expects {spec.sample_rate} Hz; "
            f"load it with PreprocessSettings(sample_rate={spec.sample_rate})"
        )
    y = validate(y, sample_rate=sample_rate)
    if spec.kind == "MFCC":
        out = spectral.study_frames(y, sample_rate=sample_rate, n_mfcc=spec.n_mfcc).clip_vector()
    elif spec.kind == "FRAMES":
        stacked = spectral.study_frames(y, sample_rate=sample_rate, n_mfcc=spec.n_mfcc).stacked()
        out = spectral.fit_frames(stacked.T, n_frames=spec.n_frames, axis=0, pad_value=0.0)
    elif spec.kind == "LOGMEL":
        out = spectral.log_mel(y, spec=spec)
    elif spec.kind in OPENSMILE_SIZES:
        from ser_core.features.opensmile import functionals

        out = functionals(y, spec=spec)
    elif spec.kind == "WHISPER":
        from ser_core.features.whisper import pooled

        out = pooled(y, spec=spec)
    else:
        from ser_core.features.wav2vec2 import pooled

        out = pooled(y, spec=spec)
    return np.ascontiguousarray(out, dtype=np.float32)
