"""Duplicate audio in a corpus: byte-identical files and the same recording re-encoded.

:func:`find_duplicates` finds

* **exact duplicates**: files with the same bytes (content hash, :func:`ser_core.features.cache.hash_file`),
  such as RAVDESS actor 07's two identical takes;
* **near duplicates**: the same recording re-encoded, resampled or at another gain. Each
  clip's fingerprint is a coarse log-mel picture of its *preprocessed* signal (16 kHz,
  DC removed, trimmed at 20 dB, peak-normalised: so gain never matters): 24 mel bands up
  to 4 kHz (a telephone or 8-kHz copy keeps them), every 10 ms, in dB below the clip's
  peak floored at -50 dB. Two clips are near duplicates when their fingerprints correlate
  at :data:`NEAR_DUPLICATE_CORRELATION` (0.97) or more at the best shift within ±200 ms
  over at least 80% of the shorter clip. Measured on RAVDESS (``../shared/data``): an
  MP3, 8-kHz, 30-dB-noise or gain-changed copy correlates at 0.986 or more with its
  original, and the closest distinct clips (one actor's two takes of the same sentence
  and emotion) at 0.943 at most. Candidates are found first on a 100-ms grid
  (correlation :data:`CANDIDATE_CORRELATION` or more), so the check stays fast.

Fingerprints are cached per file content (:class:`ser_core.features.cache.FeatureCache`), so a
second check of the same corpus is quick. :mod:`ser_core.data.leakage` turns duplicates that
straddle a split into leaks.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

#: Fingerprint correlation from which two clips count as near duplicates.
NEAR_DUPLICATE_CORRELATION = 0.97
#: Correlation on the coarse 100-ms grid from which a pair is compared in full.
CANDIDATE_CORRELATION = 0.75

FINGERPRINT_SAMPLE_RATE = 16000
FINGERPRINT_BANDS = 24
FINGERPRINT_FMAX_HZ = 4000.0
FINGERPRINT_HOP_S = 0.010
FINGERPRINT_FLOOR_DB = 50.0
_FINGERPRINT_KEY = "fingerprint-v1-mel24-4k-10ms-50db"
_MAX_SHIFT_S = 0.2
_MIN_OVERLAP = 0.8
_GRID_FRAMES = 10  # 100-ms cells of the candidate grid
_GRID_CELLS = 60  # the grid covers the first 6 s
_GRID_SHIFTS = 2
_MIN_DURATION_RATIO = 0.8


# ---------------------------------------------------------------- fingerprints


def fingerprint(y: np.ndarray, *, sample_rate: int = FINGERPRINT_SAMPLE_RATE) -> np.ndarray:
    """The near-duplicate fingerprint of one preprocessed clip: ``(frames, 24)`` dB below its peak, float16.

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> fingerprint(np.sin(2 * np.pi * 220 * t).astype(np.float32)).shape
    (101, 24)
    """
    from ser_core.audio import dsp

    hop = int(round(FINGERPRINT_HOP_S * sample_rate))
    n_fft = 2 ** math.ceil(math.log2(0.032 * sample_rate))  # 32-ms window: 512 samples at 16 kHz
    power = dsp.stft_power(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    mel = dsp.mel_filterbank(sample_rate, n_fft, FINGERPRINT_BANDS, fmax=FINGERPRINT_FMAX_HZ) @ power
    db = dsp.power_to_db(mel, ref=np.max, top_db=FINGERPRINT_FLOOR_DB)
    return db.T.astype(np.float16)


def _fingerprint_batch(items, cache_root):
    """Worker: ``(index, fingerprint or None)`` for ``(index, path, content hash)`` items, through the cache."""
    from ser_core.audio.preprocess import PreprocessSettings, load_clip
    from ser_core.errors import SERError
    from ser_core.features.cache import FeatureCache

    settings = PreprocessSettings(sample_rate=FINGERPRINT_SAMPLE_RATE)
    cache = FeatureCache(cache_root) if cache_root is not None else None
    results = []
    for index, path, content_hash in items:
        array = cache.load(content_hash, spec_key=_FINGERPRINT_KEY, settings_key=settings.key) if cache else None
        if array is None:
            try:
                array = fingerprint(load_clip(path, settings=settings), sample_rate=settings.sample_rate)
            except (SERError, OSError):
                results.append((index, None))  # an unusable clip: indexing already says why
                continue
            if cache is not None:
                cache.save(content_hash, array, spec_key=_FINGERPRINT_KEY, settings_key=settings.key)
        results.append((index, array))
    return results


def corpus_fingerprints(paths, *, content_hashes=None, n_jobs=None, progress=None) -> list:
    """The fingerprint of every clip (None for a clip that cannot be loaded), in parallel and through the feature cache."""
    from ser_core.features.cache import FeatureCache
    from ser_core.features.corpus import n_workers

    cache = FeatureCache()
    paths = [os.fspath(path) for path in paths]
    hashes = content_hashes or [cache.content_hash(path) for path in paths]
    cache.save_hashes()
    items = list(zip(range(len(paths)), paths, hashes))
    out: list = [None] * len(paths)
    workers = n_workers(n_jobs)
    size = max(1, min(64, math.ceil(len(items) / max(1, workers * 4))))
    batches = [items[start:start + size] for start in range(0, len(items), size)]
    if workers == 1 or len(batches) < 2:
        results = (_fingerprint_batch(batch, str(cache.root)) for batch in batches)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=workers, backend="loky", return_as="generator")(
            delayed(_fingerprint_batch)(batch, str(cache.root)) for batch in batches)
    done = 0
    for batch in results:
        for index, array in batch:
            out[index] = array
        done += len(batch)
        if progress is not None:
            progress(done, len(paths))
    return out


# ---------------------------------------------------------------- duplicates


@dataclass
class Duplicates:
    """Byte-identical groups and near-duplicate pairs among a list of clips (indices into it)."""

    exact: list = field(default_factory=list)
    """Groups (lists of indices, at least two) of files with the same content hash."""
    near: list = field(default_factory=list)
    """``(i, j, correlation)`` of near-duplicate pairs that are not byte-identical, ``i < j``."""


def _grid(prints) -> tuple[np.ndarray, np.ndarray]:
    """Every fingerprint on the coarse 100-ms grid (mean removed, zero-padded) and its length in frames."""
    grid = np.zeros((len(prints), _GRID_CELLS, FINGERPRINT_BANDS), dtype=np.float32)
    lengths = np.zeros(len(prints), dtype=int)
    for row, frames in enumerate(prints):
        if frames is None:
            continue
        lengths[row] = len(frames)
        cells = min(len(frames) // _GRID_FRAMES, _GRID_CELLS)
        if cells:
            coarse = frames[: cells * _GRID_FRAMES].astype(np.float32).reshape(cells, _GRID_FRAMES, -1).mean(axis=1)
            grid[row, :cells] = coarse - coarse.mean()
    return grid, lengths


def _unit(matrix: np.ndarray) -> np.ndarray:
    flat = matrix.reshape(len(matrix), -1)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)


def _candidates(prints, *, block: int = 512) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, whose coarse grids correlate at CANDIDATE_CORRELATION or more at a small shift."""
    grid, lengths = _grid(prints)
    n = len(grid)
    base = _unit(grid)
    shifted = []
    for shift in range(-_GRID_SHIFTS, _GRID_SHIFTS + 1):
        moved = np.zeros_like(grid)
        if shift >= 0:
            moved[:, shift:] = grid[:, :_GRID_CELLS - shift]
        else:
            moved[:, :shift] = grid[:, -shift:]
        shifted.append(_unit(moved))
    pairs = []
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        best = np.max([base[rows] @ other.T for other in shifted], axis=0)
        best = np.maximum(best, np.max([other[rows] @ base.T for other in shifted], axis=0))
        i, j = np.nonzero(best >= CANDIDATE_CORRELATION)
        i = i + start
        keep = (i < j) & (lengths[i] > 0) & (lengths[j] > 0)
        i, j = i[keep], j[keep]
        ratio = np.minimum(lengths[i], lengths[j]) / np.maximum(lengths[i], lengths[j])
        keep = ratio >= _MIN_DURATION_RATIO
        pairs.append(np.stack([i[keep], j[keep]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=int)


def _aligned_correlation(prints, pairs: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair's fingerprints at the best shift within ±200 ms (overlap ≥ 80%)."""
    max_shift = int(round(_MAX_SHIFT_S / FINGERPRINT_HOP_S))
    if not len(pairs):
        return np.zeros(0)
    len_a = np.array([len(prints[i]) for i in pairs[:, 0]])
    len_b = np.array([len(prints[j]) for j in pairs[:, 1]])
    longest = int(max(len_a.max(), len_b.max()))
    count, bands = len(pairs), FINGERPRINT_BANDS
    A = np.zeros((count, longest + max_shift, bands), dtype=np.float32)
    B = np.zeros_like(A)
    for row, (i, j) in enumerate(pairs):
        A[row, :len_a[row]] = prints[i]
        B[row, :len_b[row]] = prints[j]

    def running(X):
        zero = np.zeros((count, 1))
        return (np.concatenate([zero, np.cumsum(X.sum(axis=2, dtype=np.float64), axis=1)], axis=1),
                np.concatenate([zero, np.cumsum((X * X).sum(axis=2, dtype=np.float64), axis=1)], axis=1))

    a1, a2 = running(A)
    b1, b2 = running(B)
    rows = np.arange(count)
    best = np.full(count, -1.0)
    for shift in range(-max_shift, max_shift + 1):
        if shift >= 0:
            sxy = np.einsum("ptb,ptb->p", A[:, shift:shift + longest], B[:, :longest]).astype(np.float64)
            n, start_a, start_b = np.minimum(len_a - shift, len_b), shift, 0
        else:
            sxy = np.einsum("ptb,ptb->p", A[:, :longest], B[:, -shift:-shift + longest]).astype(np.float64)
            n, start_a, start_b = np.minimum(len_a, len_b + shift), 0, -shift
        n = np.maximum(n, 0)
        sx = a1[rows, start_a + n] - a1[rows, start_a]
        sx2 = a2[rows, start_a + n] - a2[rows, start_a]
        sy = b1[rows, start_b + n] - b1[rows, start_b]
        sy2 = b2[rows, start_b + n] - b2[rows, start_b]
        m = np.maximum(n * bands, 1)
        covariance = sxy - sx * sy / m
        spread = np.sqrt(np.maximum(sx2 - sx * sx / m, 1e-9) * np.maximum(sy2 - sy * sy / m, 1e-9))
        r = np.where(n >= _MIN_OVERLAP * np.minimum(len_a, len_b), covariance / spread, -1.0)
        best = np.maximum(best, r)
    return best


def find_duplicates(paths, *, threshold: float = NEAR_DUPLICATE_CORRELATION, progress=None,
                    n_jobs=None) -> Duplicates:
    """Byte-identical groups and near-duplicate pairs among audio files (see the module's description)."""
    from ser_core.features.cache import FeatureCache

    paths = [os.fspath(path) for path in paths]
    cache = FeatureCache()
    hashes = [cache.content_hash(path) for path in paths]
    groups: dict[str, list[int]] = {}
    for index, content_hash in enumerate(hashes):
        groups.setdefault(content_hash, []).append(index)
    exact = [members for members in groups.values() if len(members) > 1]
    same_bytes = {index: members[0] for members in exact for index in members}
    prints = corpus_fingerprints(paths, content_hashes=hashes, progress=progress, n_jobs=n_jobs)
    pairs = _candidates(prints)
    pairs = np.array([(i, j) for i, j in pairs if same_bytes.get(i, i) != same_bytes.get(j, j)], dtype=int)
    if len(pairs):  # similar lengths side by side: less padding per chunk
        pairs = pairs[np.argsort([max(len(prints[i]), len(prints[j])) for i, j in pairs], kind="stable")]
    near = []
    for start in range(0, len(pairs), 256):
        chunk = pairs[start:start + 256]
        for (i, j), r in zip(chunk, _aligned_correlation(prints, chunk)):
            if r >= threshold:
                near.append((int(i), int(j), round(float(r), 4)))
    return Duplicates(exact=exact, near=sorted(near))
