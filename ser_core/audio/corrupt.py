"""What the real world does to a recording: noise, reverberation, the telephone band, lossy codecs, gain (issue 19).

Every corruption takes a mono float32 clip, returns a new float32 clip and, where it
draws random numbers, is deterministic for a given ``random_state``. They serve two
jobs: measuring robustness (``bench/robustness.py``) and training-time augmentation
(:mod:`ser_core.audio.augment` wraps them under keys such as ``noise10``).

* :func:`add_noise`: white, pink or babble noise at a signal-to-noise ratio in dB.
* :func:`reverberate`: a synthetic room (exponentially decaying noise with a given RT60
  plus the direct path).
* :func:`telephone_band`: 300-3400 Hz band-pass at 8 kHz, and back to the clip's rate.
* :func:`codec_round_trip`: Opus or MP3 at a low bit rate, encoded and decoded in memory (PyAV).
* :func:`change_gain`: louder or quieter, clipped at full scale like a recorder.

Examples
--------
>>> import numpy as np
>>> y = np.sin(2 * np.pi * 220 * np.arange(16000) / 16000).astype(np.float32)
>>> noisy = add_noise(y, snr_db=10.0, noise="pink", random_state=0)
>>> round(snr_of(y, noisy - y), 1)
10.0
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from ser_core.errors import AudioError, InputError, SERError

NOISES = ("white", "pink", "babble")
#: codec name -> (PyAV encoder, container format); the decoders come from the same FFmpeg build.
CODECS = {"opus": ("libopus", "ogg"), "mp3": ("libmp3lame", "mp3")}
MIN_SNR_DB, MAX_SNR_DB = -20.0, 80.0
MIN_RT60_S, MAX_RT60_S = 0.05, 5.0
MIN_BITRATE_KBPS, MAX_BITRATE_KBPS = 6.0, 320.0
#: An RT60 counts the time for the energy to fall by 60 dB: amplitude exp(-DECAY * t / rt60_s).
_DECAY = 3.0 * np.log(10.0)


def _signal(y) -> np.ndarray:
    """``y`` as a non-empty finite mono float32 array, or an InputError naming what came instead."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise InputError(f"clip has shape {y.shape}; expected mono samples of shape (n_samples,)")
    if not len(y):
        raise InputError("clip has 0 samples; expected at least one")
    if not np.all(np.isfinite(y)):
        raise InputError("clip holds NaN or infinite samples; expected finite numbers")
    return y


def _number(value, *, name: str, low: float, high: float, unit: str = "") -> float:
    """``value`` as a float, or an InputError naming ``name`` unless it is a number in low..high."""
    is_number = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if not (is_number and np.isfinite(value) and low <= value <= high):
        raise InputError(f"{name} is {value!r}; expected a number in {low:g}..{high:g}{unit}")
    return float(value)


def _rate(sample_rate) -> int:
    is_integer = not isinstance(sample_rate, bool) and isinstance(sample_rate, (int, np.integer))
    if not (is_integer and 1000 <= sample_rate <= 384000):
        raise InputError(f"sample_rate is {sample_rate!r}; expected an integer in 1000..384000 Hz")
    return int(sample_rate)


def _generator(random_state) -> np.random.Generator:
    """A NumPy generator from an int seed or a generator (the one given is used as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise InputError(f"random_state is {random_state!r}; expected a non-negative integer seed or a numpy Generator")
    return np.random.default_rng(int(random_state))


def power(y: np.ndarray) -> float:
    """Mean power (mean square) of a clip."""
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean(y * y)) if len(y) else 0.0


def snr_of(signal: np.ndarray, noise: np.ndarray) -> float:
    """Signal-to-noise ratio in dB of two clips of the same length (mean power over the whole clip)."""
    return float(10.0 * np.log10(power(signal) / power(noise)))


def white_noise(n_samples: int, *, random_state=0) -> np.ndarray:
    """Gaussian white noise of unit power."""
    return _generator(random_state).standard_normal(n_samples).astype(np.float32)


def pink_noise(n_samples: int, *, random_state=0) -> np.ndarray:
    """Pink (1/f power) noise of unit power: white noise shaped in the frequency domain."""
    white = _generator(random_state).standard_normal(n_samples)
    spectrum = np.fft.rfft(white)
    bins = np.arange(len(spectrum), dtype=np.float64)
    bins[0] = 1.0
    spectrum /= np.sqrt(bins)
    spectrum[0] = 0.0  # no DC offset
    pink = np.fft.irfft(spectrum, n=n_samples)
    return (pink / np.sqrt(max(power(pink), 1e-30))).astype(np.float32)


def babble_noise(n_samples: int, *, talkers: Sequence[np.ndarray], random_state=0) -> np.ndarray:
    """Several voices at once, of unit power.

    Each talker is looped to ``n_samples``, started at a random offset and scaled to
    unit power before the sum.
    """
    if isinstance(talkers, np.ndarray) or not len(talkers):
        received = "one array" if isinstance(talkers, np.ndarray) else "none"
        raise InputError("babble needs talkers: a sequence of other speech clips (mono arrays at the clip's rate); "
                         f"received {received}")
    rng = _generator(random_state)
    mixture = np.zeros(n_samples, dtype=np.float64)
    for talker in talkers:
        talker = _signal(talker).astype(np.float64)
        if power(talker) == 0:
            raise InputError("a babble talker is silent; expected speech clips with some sound")
        looped = np.resize(np.roll(talker, -int(rng.integers(len(talker)))), n_samples)
        mixture += looped / np.sqrt(max(power(looped), 1e-30))
    return (mixture / np.sqrt(max(power(mixture), 1e-30))).astype(np.float32)


def add_noise(y: np.ndarray, *, snr_db: float = 20.0, noise: str = "white", babble: Sequence[np.ndarray] | None = None,
              speech_top_db: float | None = None, random_state=0) -> np.ndarray:
    """Add noise so that the signal's power over the noise's is ``snr_db`` dB.

    The noise covers the whole clip; its power is measured over the whole clip, the
    signal's over the whole clip or, with ``speech_top_db``, over its speech only.

    Parameters
    ----------
    y : np.ndarray
        Mono float32 clip.
    snr_db : float
        Signal-to-noise ratio in dB (-20..80); 20 is a quiet office, 5 a busy street.
    noise : {"white", "pink", "babble"}
        Pink has equal power per octave, like much real background noise; babble is the
        other clips in ``babble`` played at once.
    babble : sequence of np.ndarray or None
        Other speech clips at the same sample rate; required for ``noise="babble"``.
    speech_top_db : float or None
        Measure the signal's power from its first to its last frame within
        ``speech_top_db`` dB of the loudest (the span preprocessing keeps when it trims
        silence with that ``top_db``). A recording with a second of silence around
        three of speech otherwise gets about 4 dB less noise than the SNR says.
        None: over the whole clip (right for clips already trimmed).
    random_state : int or np.random.Generator
        Seed of the noise and of the babble offsets: the same seed gives the same samples.

    Returns
    -------
    np.ndarray
        The noisy clip, float32, same length (not renormalised: it may exceed ±1).
    """
    y = _signal(y)
    snr_db = _number(snr_db, name="snr_db", low=MIN_SNR_DB, high=MAX_SNR_DB, unit=" dB")
    if noise not in NOISES:
        raise InputError(f"noise is {noise!r}; expected one of {', '.join(NOISES)}")
    if noise != "babble" and babble is not None:
        raise InputError(f"babble clips were given with noise={noise!r}; pass noise='babble' to use them")
    if speech_top_db is not None:
        from ser_core.audio.dsp import trim

        speech_top_db = _number(speech_top_db, name="speech_top_db", low=1.0, high=120.0, unit=" dB")
        signal_power = power(trim(y, top_db=speech_top_db, frame_length=2048, hop_length=512))
    else:
        signal_power = power(y)
    if signal_power == 0:
        raise InputError("clip is silent (all zeros); a signal-to-noise ratio needs some signal")
    if noise == "white":
        shape = white_noise(len(y), random_state=random_state)
    elif noise == "pink":
        shape = pink_noise(len(y), random_state=random_state)
    else:
        shape = babble_noise(len(y), talkers=() if babble is None else babble, random_state=random_state)
    # Scale by the noise actually drawn, so the measured ratio is the one asked for.
    scale = np.sqrt(signal_power / (power(shape) * 10.0 ** (snr_db / 10.0)))
    return (y.astype(np.float64) + scale * shape).astype(np.float32)


def room_impulse_response(*, rt60_s: float = 0.5, sample_rate: int = 16000, direct_to_reverberant_db: float = 0.0,
                          random_state=0) -> np.ndarray:
    """A synthetic room: a unit direct path, then Gaussian noise decaying 60 dB over ``rt60_s`` seconds.

    The tail starts one sample after the direct path, lasts ``rt60_s``, and holds the
    direct path's energy less ``direct_to_reverberant_db`` dB (0 dB: a talker at the room's
    critical distance, where direct and reflected sound are equally loud).
    """
    rt60_s = _number(rt60_s, name="rt60_s", low=MIN_RT60_S, high=MAX_RT60_S, unit=" s")
    sample_rate = _rate(sample_rate)
    drr_db = _number(direct_to_reverberant_db, name="direct_to_reverberant_db", low=-20.0, high=40.0, unit=" dB")
    n_tail = max(1, int(round(rt60_s * sample_rate)))
    t = np.arange(1, n_tail + 1) / sample_rate
    tail = _generator(random_state).standard_normal(n_tail) * np.exp(-_DECAY * t / rt60_s)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail * tail))
    return np.concatenate([[1.0], tail]).astype(np.float32)


def reverberate(y: np.ndarray, *, rt60_s: float = 0.5, sample_rate: int = 16000, direct_to_reverberant_db: float = 0.0,
                random_state=0) -> np.ndarray:
    """The clip played in a synthetic room (:func:`room_impulse_response`), scaled back to its peak.

    Returns ``len(y) + rt60_s * sample_rate`` samples: the reverberant tail is kept.
    """
    from scipy.signal import fftconvolve

    y = _signal(y)
    response = room_impulse_response(rt60_s=rt60_s, sample_rate=sample_rate,
                                     direct_to_reverberant_db=direct_to_reverberant_db, random_state=random_state)
    return match_peak(fftconvolve(y.astype(np.float64), response.astype(np.float64)), y)


def telephone_band(y: np.ndarray, *, sample_rate: int = 16000, low_hz: float = 300.0, high_hz: float = 3400.0,
                   narrow_rate: int = 8000) -> np.ndarray:
    """A telephone line: down to ``narrow_rate`` Hz, band-pass ``low_hz``-``high_hz`` Hz, back to ``sample_rate``.

    Same length as ``y``; nothing above ``narrow_rate / 2`` Hz survives.
    """
    from scipy.signal import butter, sosfilt

    from ser_core.audio.dsp import resample

    y = _signal(y)
    sample_rate = _rate(sample_rate)
    narrow_rate = _rate(narrow_rate)
    if narrow_rate > sample_rate:
        raise InputError(f"narrow_rate is {narrow_rate} Hz, above the clip's {sample_rate} Hz; "
                         "expected at most the clip's rate")
    low_hz = _number(low_hz, name="low_hz", low=1.0, high=narrow_rate / 2, unit=" Hz")
    high_hz = _number(high_hz, name="high_hz", low=1.0, high=narrow_rate / 2 * 0.99, unit=" Hz")
    if low_hz >= high_hz:
        raise InputError(f"low_hz is {low_hz:g} Hz and high_hz {high_hz:g} Hz; expected low_hz below high_hz")
    narrow = resample(y, orig_sr=sample_rate, target_sr=narrow_rate)
    band = butter(4, [low_hz, high_hz], btype="bandpass", fs=narrow_rate, output="sos")
    narrow = sosfilt(band, narrow).astype(np.float32)
    return _fit_length(resample(narrow, orig_sr=narrow_rate, target_sr=sample_rate), len(y))


def codec_round_trip(y: np.ndarray, *, sample_rate: int = 16000, codec: str = "opus",
                     bitrate_kbps: float = 16.0) -> np.ndarray:
    """Encode the clip with a lossy codec at ``bitrate_kbps`` kbit/s and decode it again, in memory (PyAV).

    Parameters
    ----------
    codec : {"opus", "mp3"}
        Opus (in Ogg) as in voice calls and WebRTC, or MP3 (LAME).
    bitrate_kbps : float
        Target bit rate in kbit/s (6..320); 16-24 is a low-rate voice stream.

    Returns
    -------
    np.ndarray
        The decoded clip at ``sample_rate``, float32, cut or padded to ``len(y)``
        (the codec's own delay, a few milliseconds for Opus, stays in).

    Raises
    ------
    SERError
        When this PyAV/FFmpeg build has no encoder for ``codec``.
    """
    import av

    from ser_core.audio.decode import load_audio

    y = _signal(y)
    sample_rate = _rate(sample_rate)
    if codec not in CODECS:
        raise InputError(f"codec is {codec!r}; expected one of {', '.join(CODECS)}")
    bitrate_kbps = _number(bitrate_kbps, name="bitrate_kbps", low=MIN_BITRATE_KBPS, high=MAX_BITRATE_KBPS,
                           unit=" kbit/s")
    encoder, container_format = CODECS[codec]
    try:
        rates = av.codec.Codec(encoder, "w").audio_rates
    except Exception as exc:  # UnknownCodecError and friends differ across PyAV versions
        raise SERError(f"this PyAV/FFmpeg build has no {encoder} encoder for {codec} ({exc}); "
                       f"expected one with {encoder} (the PyAV wheels from PyPI have it)") from exc
    if rates and sample_rate not in rates:
        raise InputError(f"sample_rate is {sample_rate} Hz; {codec} encodes at {', '.join(str(r) for r in rates)} Hz")
    try:
        encoded = _encoded(y, sample_rate=sample_rate, encoder=encoder, container_format=container_format,
                           bitrate_kbps=bitrate_kbps)
    except av.error.FFmpegError as exc:
        raise SERError(f"could not encode the clip as {codec} at {bitrate_kbps:g} kbit/s: {exc}") from exc
    try:
        decoded = load_audio(encoded, sample_rate=sample_rate)
    except AudioError as exc:  # e.g. a clip so short the codec gave back nothing
        raise AudioError(f"the {codec} round trip of a {len(y)}-sample clip gave no audio back: {exc}") from exc
    return _fit_length(decoded, len(y))


def _encoded(y: np.ndarray, *, sample_rate: int, encoder: str, container_format: str, bitrate_kbps: float) -> bytes:
    """The clip encoded by PyAV's ``encoder`` in a ``container_format`` file, in memory."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=sample_rate)
        stream.layout = "mono"
        stream.bit_rate = int(round(bitrate_kbps * 1000))
        frame = av.AudioFrame.from_ndarray(np.clip(y, -1.0, 1.0)[None, :], format="flt", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def change_gain(y: np.ndarray, *, factor: float = 1.0, clip: bool = True) -> np.ndarray:
    """Multiply the clip by ``factor`` (0.25: 12 dB quieter); with ``clip``, samples beyond ±1 saturate."""
    y = _signal(y)
    factor = _number(factor, name="gain factor", low=0.0, high=1000.0)
    out = y * np.float32(factor)
    return np.clip(out, -1.0, 1.0) if clip else out


def match_peak(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``out`` scaled to the peak amplitude of ``y`` (float32, contiguous; a silent ``out`` stays silent)."""
    peak_in, peak_out = float(np.max(np.abs(y))), float(np.max(np.abs(out)))
    if peak_out > 0:
        out = out * (peak_in / peak_out)
    return np.ascontiguousarray(out, dtype=np.float32)


def _fit_length(y: np.ndarray, n_samples: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y[:n_samples] if len(y) >= n_samples else np.pad(y, (0, n_samples - len(y)))
