"""Decode any audio people upload or record into mono float32 samples, in bounded memory.

Decoding tries ``soundfile`` first (wav, flac, ogg/vorbis/opus, mp3) and falls back to
PyAV's bundled ffmpeg for everything else browsers record (webm/opus, m4a/aac, mp4).
Long recordings are decoded block by block and resampled as a stream, so an hour at
48 kHz never sits whole in memory (see :func:`iter_chunks`). Problems get one clear
message naming the file: a folder or a missing file, permission denied (checked in
:mod:`ser_core.audio.source`), bytes that are not audio in any supported format (with what
they look like, e.g. a PDF document), and a WAV whose header promises more samples than the
file holds (decoded as far as it goes, with a :class:`TruncatedAudioWarning`).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ser_core.audio.source import (AudioSource, declared_wav_frames, describe, head_bytes, looks_like, open_source,
                                   rewind)
from ser_core.errors import DecodeError, EmptyAudioError, InputError, TooLongError

#: File suffixes treated as audio (what the decoders read), everywhere in the studio.
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".mp4", ".webm", ".aiff", ".aif"})
#: Files with at most this many samples (all channels) are read whole; longer ones stream.
_WHOLE_READ_LIMIT = 8_000_000
#: Frames per decoded block when streaming.
_BLOCK_FRAMES = 65_536


class TruncatedAudioWarning(UserWarning):
    """A file holds fewer samples than its header declares; what is there was decoded."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, without decoding it all: duration in s, rate in Hz, channels."""

    duration_s: float
    sample_rate: int
    channels: int


# ---------------------------------------------------------------------------
# quiet C libraries


_STDERR_LOCK = threading.Lock()


@contextmanager
def _quiet_stderr():
    """Silence what C libraries print to stderr (libmpg123's "Note:" lines) while a decoder probes a file."""
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# ---------------------------------------------------------------------------
# decoders: each yields float32 blocks of shape (n_frames, channels)


@dataclass
class _Decoded:
    sample_rate: int
    channels: int
    n_frames: int | None
    backend: str
    handle: Any
    declared_frames: int | None = None  # what a WAV header promises (to spot truncated files)


def _open_soundfile(src):
    import soundfile as sf

    handle = sf.SoundFile(src)
    n_frames = handle.frames if handle.seekable() else None
    return _Decoded(handle.samplerate, handle.channels, n_frames, "soundfile", handle)


def _open_pyav(src):
    import av

    container = av.open(src, mode="r", metadata_errors="ignore")
    if not container.streams.audio:
        container.close()
        raise DecodeError("the container holds no audio stream")
    stream = container.streams.audio[0]
    rate = stream.rate or stream.codec_context.sample_rate
    channels = stream.codec_context.channels
    n_frames = None
    if stream.duration is not None and stream.time_base is not None:
        n_frames = int(round(float(stream.duration * stream.time_base) * rate))
    elif container.duration is not None:
        n_frames = int(round(container.duration / av.time_base * rate))
    return _Decoded(int(rate), int(channels), n_frames, "pyav", container)


@contextmanager
def _decoder(source: AudioSource) -> Iterator[_Decoded]:
    """Open source with soundfile, or PyAV when soundfile cannot read it."""
    src = open_source(source)
    other_format = looks_like(head_bytes(src))
    if other_format is not None:
        raise DecodeError(f"could not decode {describe(source)}: it is not audio in any supported format "
                          f"(wav, flac, ogg, mp3, webm, m4a/mp4); it looks like {other_format}")
    errors = []
    decoded = None
    for opener in (_open_soundfile, _open_pyav):
        rewind(src)
        try:
            with _quiet_stderr():
                decoded = opener(src)
            break
        except Exception as exc:  # each backend has its own error types
            reason = str(exc).split(": ", 1)[-1] if "Error opening" in str(exc) else str(exc)
            errors.append(f"{opener.__name__[6:]}: {reason}")
    if decoded is None:
        raise DecodeError(
            f"could not decode {describe(source)}: it is not audio in any supported format "
            f"(wav, flac, ogg, mp3, webm, m4a/mp4) ({'; '.join(errors)})"
        )
    decoded.declared_frames = declared_wav_frames(src)
    try:
        yield decoded
    finally:
        decoded.handle.close()


def _warn_if_truncated(source: AudioSource, decoded: _Decoded, n_decoded: int) -> None:
    """Warn when a WAV header declares more frames than were decoded."""
    declared, rate = decoded.declared_frames, decoded.sample_rate
    if declared is None or n_decoded >= declared:
        return
    warnings.warn(
        f"{describe(source)} is truncated: its header declares {declared / rate:.2f} s but the file "
        f"holds {n_decoded / rate:.2f} s; what is there was decoded",
        TruncatedAudioWarning, stacklevel=4,
    )


def as_damage(error: InputError, *, truncated: bool) -> InputError:
    """``error`` raised on what a truncated file holds, told as damage first (its own reason after).

    A file cut short often keeps only its silent start: "silent" or "too short" alone would
    blame the recording rather than the file.
    """
    if not truncated:
        return error
    return type(error)(f"the file is damaged: its header promises more audio than it holds, and what it holds "
                       f"cannot be classified: {error}")


def _soundfile_blocks(decoded: _Decoded, block_frames: int) -> Iterator[np.ndarray]:
    while True:
        block = decoded.handle.read(block_frames, dtype="float32", always_2d=True)
        if len(block) == 0:
            return
        yield block


def _pyav_blocks(decoded: _Decoded, source_name: str) -> Iterator[np.ndarray]:
    import av

    container = decoded.handle
    resampler = av.AudioResampler(format="fltp")  # planar float, same layout and rate
    try:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray().T.astype(np.float32, copy=False)
        for out in resampler.resample(None):
            yield out.to_ndarray().T.astype(np.float32, copy=False)
    except av.error.FFmpegError as exc:
        raise DecodeError(f"could not decode {source_name}: {exc}") from exc


def _blocks(decoded: _Decoded, source_name: str, *, block_frames: int = _BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Yield mono float32 blocks at the file's own sample rate."""
    if decoded.backend == "soundfile":
        raw = _soundfile_blocks(decoded, block_frames)
    else:
        raw = _pyav_blocks(decoded, source_name)
    for block in raw:
        yield block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]


# ---------------------------------------------------------------------------
# resampling


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono audio with soxr's high-quality filter (librosa ``res_type='soxr_hq'``, :func:`ser_core.audio.dsp.resample`)."""
    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    from ser_core.audio.dsp import resample as soxr_resample

    return soxr_resample(y, orig_sr=orig_sr, target_sr=target_sr)


class _StreamResampler:
    """soxr's streaming resampler: chunked output matches resampling the whole signal."""

    def __init__(self, orig_sr: int, target_sr: int):
        self._stream = None
        if orig_sr != target_sr:
            import soxr

            self._stream = soxr.ResampleStream(orig_sr, target_sr, 1, dtype="float32", quality="HQ")

    def __call__(self, block: np.ndarray, *, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return block
        return self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last)


# ---------------------------------------------------------------------------
# public API


def load_audio(
    source: AudioSource, *, sample_rate: int = 16000, max_duration_s: float | None = None
) -> np.ndarray:
    """Decode any supported audio to mono float32 at ``sample_rate`` Hz.

    Parameters
    ----------
    source : path, URL, bytes or binary file object
        wav, flac, ogg, mp3 (soundfile) or webm, m4a, mp4 and more (PyAV/ffmpeg). A URL
        (``s3://``, ``https://``, ``file://``, ...) is read whole through fsspec
        (:mod:`ser_core.storage`).
    sample_rate : int
        Target rate in Hz; stereo is averaged to mono, then resampled with soxr (HQ).
    max_duration_s : float or None
        Raise :class:`TooLongError` for longer audio (checked before decoding when
        the container states its duration).

    Returns
    -------
    np.ndarray
        float32 samples of shape ``(n_samples,)``.
    """
    sample_rate = _check_rate(sample_rate)
    name = describe(source)
    with _decoder(source) as decoded:
        _check_declared_length(decoded, name, max_duration_s)
        n = decoded.n_frames
        if decoded.backend == "soundfile" and n is not None and n * decoded.channels <= _WHOLE_READ_LIMIT:
            y = decoded.handle.read(dtype="float32", always_2d=True)
            n_in = len(y)
            y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
            y = resample(y, orig_sr=decoded.sample_rate, target_sr=sample_rate)
        else:
            y, n_in = _load_streaming(decoded, name, sample_rate=sample_rate, max_duration_s=max_duration_s)
        _warn_if_truncated(source, decoded, n_in)
    if y.size == 0:
        raise EmptyAudioError(f"{name} decoded to 0 samples; expected audio")
    if max_duration_s is not None and y.size / sample_rate > max_duration_s:
        raise _too_long(name, y.size / sample_rate, max_duration_s)
    return np.ascontiguousarray(y, dtype=np.float32)


def _check_rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
        raise InputError(f"sample_rate is {sample_rate!r}; expected an integer of at least 1000 Hz")
    return int(sample_rate)


def _too_long(name: str, duration_s: float, max_duration_s: float) -> TooLongError:
    return TooLongError(f"{name} lasts {duration_s:.1f} s; at most {max_duration_s:g} s is accepted")


def _check_declared_length(decoded: _Decoded, name: str, max_duration_s: float | None) -> None:
    if max_duration_s is not None and decoded.n_frames is not None:
        duration_s = decoded.n_frames / decoded.sample_rate
        if duration_s > max_duration_s:
            raise _too_long(name, duration_s, max_duration_s)


def _load_streaming(decoded: _Decoded, name: str, *, sample_rate: int,
                    max_duration_s: float | None) -> tuple[np.ndarray, int]:
    """Decode and resample block by block; return the samples and the count of input frames."""
    resampler = _StreamResampler(decoded.sample_rate, sample_rate)
    parts, n_in = [], 0
    for block in _blocks(decoded, name):
        n_in += len(block)
        if max_duration_s is not None and n_in / decoded.sample_rate > max_duration_s:
            raise _too_long(name, n_in / decoded.sample_rate, max_duration_s)
        parts.append(resampler(block))
    parts.append(resampler(np.zeros(0, dtype=np.float32), last=True))
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)), n_in


def iter_chunks(source: AudioSource, *, sample_rate: int = 16000, chunk_s: float = 30.0) -> Iterator[np.ndarray]:
    """Yield consecutive mono float32 chunks of ``chunk_s`` seconds at ``sample_rate`` Hz.

    Memory stays bounded by one chunk plus one decoded block, whatever the file's length;
    the last chunk may be shorter. Resampling is continuous across chunk borders.
    """
    if not (np.isfinite(chunk_s) and chunk_s > 0):
        raise InputError(f"chunk_s is {chunk_s!r}; expected a positive number of seconds")
    sample_rate = _check_rate(sample_rate)
    chunk_n = max(1, int(round(chunk_s * sample_rate)))
    name = describe(source)
    with _decoder(source) as decoded:
        resampler = _StreamResampler(decoded.sample_rate, sample_rate)
        buffer = np.zeros(0, dtype=np.float32)
        emitted = n_in = 0
        for block in _blocks(decoded, name):
            n_in += len(block)
            buffer = np.concatenate([buffer, resampler(block)])
            while len(buffer) >= chunk_n:
                emitted += chunk_n
                yield buffer[:chunk_n].copy()
                buffer = buffer[chunk_n:]
        buffer = np.concatenate([buffer, resampler(np.zeros(0, dtype=np.float32), last=True)])
        _warn_if_truncated(source, decoded, n_in)
        while len(buffer):
            emitted += min(chunk_n, len(buffer))
            yield buffer[:chunk_n].copy()
            buffer = buffer[chunk_n:]
    if emitted == 0:
        raise EmptyAudioError(f"{name} decoded to 0 samples; expected audio")


def probe(source: AudioSource) -> AudioInfo:
    """Return duration (s), sample rate (Hz) and channel count without keeping the audio."""
    name = describe(source)
    with _decoder(source) as decoded:
        n = decoded.n_frames
        if n is None:  # e.g. browser webm without a duration: count while streaming
            n = sum(len(block) for block in _blocks(decoded, name))
        if n == 0:
            raise EmptyAudioError(f"{name} holds 0 samples; expected audio")
        rate = decoded.sample_rate
        return AudioInfo(duration_s=n / rate, sample_rate=rate, channels=decoded.channels)


