"""How long a model takes on one clip, preprocessing and features included."""

import time

import numpy as np

from ser_core.errors import InputError


def latency_per_clip_ms(model, *, duration_s=3.0, sample_rate=16000, repeats=10, seed=0):
    """Return the median milliseconds one ``duration_s`` clip takes, preprocessing and features included.

    ``model`` is anything with ``predict_audio(y, sample_rate=...)`` (any model kind of
    :mod:`ser_core.modelfolder.loaded`). The clip is a voiced, modulated tone;
    one warm-up call is not timed.
    """
    if repeats < 1:
        raise InputError(f"repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    y = 0.3 * np.sin(2 * np.pi * 160 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    y = (y + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    model.predict_audio(y, sample_rate=sample_rate)
    times_ms = []
    for _ in range(int(repeats)):
        start = time.perf_counter()
        model.predict_audio(y, sample_rate=sample_rate)
        times_ms.append(1000 * (time.perf_counter() - start))
    return float(np.median(times_ms))
