"""Decode, resample, trim and normalise speech audio.

The defaults reproduce the study's preprocessing: load at 16 kHz (mono, high-quality
soxr resampling), trim leading/trailing silence at 20 dB below the peak
(``librosa.effects.trim``, 2048-sample frames, hop 512) and peak-normalise.

Decoding tries ``soundfile`` first (wav, flac, ogg/vorbis/opus, mp3) and falls back to
PyAV's bundled ffmpeg for everything else browsers record (webm/opus, m4a/aac, mp4).
Long recordings are decoded block by block and resampled as a stream, so an hour at
48 kHz never sits whole in memory (see :func:`iter_chunks`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, BinaryIO, Union

import numpy as np

from ser_core.errors import (
    AudioError,
    DecodeError,
    EmptyAudioError,
    InputError,
    InvalidSamplesError,
    SilentAudioError,
    TooLongError,
    TooShortError,
)

AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]

#: Peak amplitude below which a signal counts as silence (-80 dBFS, about 3 LSB at 16 bit).
SILENCE_FLOOR = 1e-4
#: Files with at most this many samples (all channels) are read whole; longer ones stream.
_WHOLE_READ_LIMIT = 8_000_000
#: Frames per decoded block when streaming.
_BLOCK_FRAMES = 65_536
_TRIM_FRAME_LENGTH = 2048
_TRIM_HOP_LENGTH = 512


@dataclass(frozen=True)
class PreprocessSettings:
    """How a clip is prepared before feature extraction (the study's defaults).

    Parameters
    ----------
    sample_rate : int
        Target sample rate in Hz.
    top_db : float or None
        Trim threshold in dB below the clip's peak; None disables trimming.
    normalize : bool
        Peak-normalise to a maximum absolute amplitude of 1.
    min_duration_s : float
        Shortest clip accepted after trimming, in seconds.
    """

    sample_rate: int = 16000
    top_db: float | None = 20.0
    normalize: bool = True
    min_duration_s: float = 0.1

    def __post_init__(self):
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, (int, np.integer)):
            raise InputError(f"sample_rate must be an integer number of Hz, got {self.sample_rate!r}")
        if not 1000 <= self.sample_rate <= 384000:
            raise InputError(f"sample_rate is {self.sample_rate} Hz; expected 1000..384000 Hz")
        if self.top_db is not None and not (np.isfinite(self.top_db) and self.top_db > 0):
            raise InputError(f"top_db is {self.top_db!r}; expected a positive number of dB or None")
        if not (np.isfinite(self.min_duration_s) and self.min_duration_s >= 0):
            raise InputError(f"min_duration_s is {self.min_duration_s!r}; expected >= 0 s")
        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        object.__setattr__(self, "top_db", None if self.top_db is None else float(self.top_db))
        object.__setattr__(self, "normalize", bool(self.normalize))
        object.__setattr__(self, "min_duration_s", float(self.min_duration_s))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PreprocessSettings":
        """Build settings from :meth:`to_dict` output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown preprocessing settings {unknown}; expected keys among {sorted(known)}")
        return cls(**data)

    @property
    def key(self) -> str:
        """A short stable string naming these settings (used in cache keys)."""
        top = "none" if self.top_db is None else f"{self.top_db:g}"
        return f"sr{self.sample_rate}-top{top}-norm{int(self.normalize)}-min{self.min_duration_s:g}"


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, without decoding it all: duration in s, rate in Hz, channels."""

    duration_s: float
    sample_rate: int
    channels: int


# ---------------------------------------------------------------------------
# sources


def _describe(source: AudioSource) -> str:
    """A short human name for a source, for error messages."""
    if isinstance(source, (str, os.PathLike)):
        return f"'{os.fspath(source)}'"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    name = getattr(source, "name", None)
    return f"'{name}'" if isinstance(name, str) else "<file object>"


def _normalise_source(source: AudioSource) -> str | BinaryIO:
    """Return a path string or a seekable binary file object; reject empty sources."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise AudioError(f"no audio file at '{path}'; expected an existing file")
        if os.path.getsize(path) == 0:
            raise EmptyAudioError(f"'{path}' is 0 bytes; expected an audio file")
        return path
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise EmptyAudioError("received 0 bytes of audio; expected an encoded audio file")
        return io.BytesIO(bytes(source))
    if hasattr(source, "read"):
        if not (hasattr(source, "seekable") and source.seekable()):
            return _normalise_source(source.read())
        source.seek(0, io.SEEK_END)
        size = source.tell()
        source.seek(0)
        if size == 0:
            raise EmptyAudioError(f"{_describe(source)} holds 0 bytes; expected an audio file")
        return source
    raise AudioError(
        f"cannot read audio from a {type(source).__name__}; expected a path, bytes or a binary file object"
    )


def _rewind(src: str | BinaryIO) -> None:
    if not isinstance(src, str):
        src.seek(0)


# ---------------------------------------------------------------------------
# decoders: each yields float32 blocks of shape (n_frames, channels)


@dataclass
class _Decoded:
    sample_rate: int
    channels: int
    n_frames: int | None
    backend: str
    handle: Any


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
    src = _normalise_source(source)
    errors = []
    decoded = None
    for opener in (_open_soundfile, _open_pyav):
        _rewind(src)
        try:
            decoded = opener(src)
            break
        except Exception as exc:  # each backend has its own error types
            reason = str(exc).split(": ", 1)[-1] if "Error opening" in str(exc) else str(exc)
            errors.append(f"{opener.__name__[6:]}: {reason}")
    if decoded is None:
        raise DecodeError(
            f"could not decode {_describe(source)}: it is not audio in any supported format "
            f"(wav, flac, ogg, mp3, webm, m4a/mp4) ({'; '.join(errors)})"
        )
    try:
        yield decoded
    finally:
        decoded.handle.close()


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
    """Resample mono audio with soxr's high-quality filter (librosa ``res_type='soxr_hq'``)."""
    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    import librosa

    y = np.asarray(y, dtype=np.float32)
    return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq")


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
    source : path, bytes or binary file object
        wav, flac, ogg, mp3 (soundfile) or webm, m4a, mp4 and more (PyAV/ffmpeg).
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
    name = _describe(source)
    with _decoder(source) as decoded:
        _check_declared_length(decoded, name, max_duration_s)
        n = decoded.n_frames
        if decoded.backend == "soundfile" and n is not None and n * decoded.channels <= _WHOLE_READ_LIMIT:
            y = decoded.handle.read(dtype="float32", always_2d=True)
            y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
            y = resample(y, orig_sr=decoded.sample_rate, target_sr=sample_rate)
        else:
            y = _load_streaming(decoded, name, sample_rate=sample_rate, max_duration_s=max_duration_s)
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


def _load_streaming(decoded: _Decoded, name: str, *, sample_rate: int, max_duration_s: float | None) -> np.ndarray:
    resampler = _StreamResampler(decoded.sample_rate, sample_rate)
    parts, n_in = [], 0
    for block in _blocks(decoded, name):
        n_in += len(block)
        if max_duration_s is not None and n_in / decoded.sample_rate > max_duration_s:
            raise _too_long(name, n_in / decoded.sample_rate, max_duration_s)
        parts.append(resampler(block))
    parts.append(resampler(np.zeros(0, dtype=np.float32), last=True))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def iter_chunks(source: AudioSource, *, sample_rate: int = 16000, chunk_s: float = 30.0) -> Iterator[np.ndarray]:
    """Yield consecutive mono float32 chunks of ``chunk_s`` seconds at ``sample_rate`` Hz.

    Memory stays bounded by one chunk plus one decoded block, whatever the file's length;
    the last chunk may be shorter. Resampling is continuous across chunk borders.
    """
    if not (np.isfinite(chunk_s) and chunk_s > 0):
        raise InputError(f"chunk_s is {chunk_s!r}; expected a positive number of seconds")
    sample_rate = _check_rate(sample_rate)
    chunk_n = max(1, int(round(chunk_s * sample_rate)))
    name = _describe(source)
    with _decoder(source) as decoded:
        resampler = _StreamResampler(decoded.sample_rate, sample_rate)
        buffer = np.zeros(0, dtype=np.float32)
        emitted = 0
        for block in _blocks(decoded, name):
            buffer = np.concatenate([buffer, resampler(block)])
            while len(buffer) >= chunk_n:
                emitted += chunk_n
                yield buffer[:chunk_n].copy()
                buffer = buffer[chunk_n:]
        buffer = np.concatenate([buffer, resampler(np.zeros(0, dtype=np.float32), last=True)])
        while len(buffer):
            emitted += min(chunk_n, len(buffer))
            yield buffer[:chunk_n].copy()
            buffer = buffer[chunk_n:]
    if emitted == 0:
        raise EmptyAudioError(f"{name} decoded to 0 samples; expected audio")


def probe(source: AudioSource) -> AudioInfo:
    """Return duration (s), sample rate (Hz) and channel count without keeping the audio."""
    name = _describe(source)
    with _decoder(source) as decoded:
        n = decoded.n_frames
        if n is None:  # e.g. browser webm without a duration: count while streaming
            n = sum(len(block) for block in _blocks(decoded, name))
        if n == 0:
            raise EmptyAudioError(f"{name} holds 0 samples; expected audio")
        rate = decoded.sample_rate
        return AudioInfo(duration_s=n / rate, sample_rate=rate, channels=decoded.channels)


def validate(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Check that y is usable mono audio; return it as float32 or raise an AudioError."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"audio has shape {y.shape}; expected mono samples of shape (n_samples,)")
    if y.size == 0:
        raise EmptyAudioError("audio has 0 samples; expected at least one")
    if not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
        raise AudioError(f"audio has dtype {y.dtype}; expected real floating-point samples")
    y = y.astype(np.float32, copy=False)
    finite = np.isfinite(y)
    if not finite.all():
        bad = int(y.size - finite.sum())
        raise InvalidSamplesError(f"{bad} of {y.size} samples are NaN or infinite; expected finite values")
    peak = float(np.max(np.abs(y)))
    if peak < SILENCE_FLOOR:
        raise SilentAudioError(
            f"audio of {y.size / sample_rate:.2f} s is silent (peak amplitude {peak:.1e}); "
            f"expected a peak of at least {SILENCE_FLOOR:.0e} (-80 dBFS)"
        )
    return y


def preprocess(
    y: np.ndarray,
    *,
    sample_rate: int,
    top_db: float | None = 20.0,
    normalize: bool = True,
    min_duration_s: float = 0.1,
) -> np.ndarray:
    """Apply the study's preprocessing: trim silence at ``top_db`` then peak-normalise.

    Raises :class:`EmptyAudioError`, :class:`InvalidSamplesError`,
    :class:`SilentAudioError` or :class:`TooShortError` (shorter than ``min_duration_s``
    seconds after trimming).
    """
    import librosa

    y = validate(y, sample_rate=sample_rate)
    if top_db is not None:
        y, _ = librosa.effects.trim(y, top_db=top_db, frame_length=_TRIM_FRAME_LENGTH, hop_length=_TRIM_HOP_LENGTH)
    duration_s = y.size / sample_rate
    if duration_s < min_duration_s:
        where = f" after trimming silence at {top_db:g} dB" if top_db is not None else ""
        raise TooShortError(f"audio lasts {duration_s:.3f} s{where}; at least {min_duration_s:g} s is expected")
    if normalize:
        y = y / np.max(np.abs(y))
    return np.ascontiguousarray(y, dtype=np.float32)


def load_clip(
    source: AudioSource,
    *,
    settings: PreprocessSettings = PreprocessSettings(),
    max_duration_s: float | None = None,
) -> np.ndarray:
    """Load and preprocess one clip exactly as the study did (by default)."""
    y = load_audio(source, sample_rate=settings.sample_rate, max_duration_s=max_duration_s)
    return preprocess(
        y,
        sample_rate=settings.sample_rate,
        top_db=settings.top_db,
        normalize=settings.normalize,
        min_duration_s=settings.min_duration_s,
    )

