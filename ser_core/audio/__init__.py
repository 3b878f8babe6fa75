"""Audio in: where it comes from, decoding, signal processing, preprocessing, corruption, augmentation.

Modules, lowest first:

* :mod:`~ser_core.audio.source`: a path, URL, bytes or file object checked and opened;
  what non-audio bytes look like (``open_source``, ``describe``, ``looks_like``,
  ``declared_wav_frames``).
* :mod:`~ser_core.audio.dsp`: librosa's trim, STFT power, mel filterbank, dB, YIN and
  resampling in plain NumPy, number for number (``trim``, ``stft_power``,
  ``mel_filterbank``, ``power_to_db``, ``yin``, ``resample``).
* :mod:`~ser_core.audio.decode`: any audio to mono float32 in bounded memory
  (``AUDIO_SUFFIXES``, ``load_audio``, ``iter_chunks``, ``probe``, ``resample``).
* :mod:`~ser_core.audio.preprocess`: validate, remove DC, trim silence, peak-normalise
  (``PreprocessSettings``, ``preprocess``, ``preprocess_with``, ``load_clip``,
  ``clip_problem``; it re-exports the decode names).
* :mod:`~ser_core.audio.corrupt`: what the real world does to a recording, seedable
  (``add_noise`` white/pink/babble at an SNR in dB, ``reverberate`` with an RT60,
  ``telephone_band``, ``codec_round_trip`` Opus/MP3 via PyAV, ``change_gain``).
* :mod:`~ser_core.audio.quality`: how clean and wide-band a recording is, and whether a
  model's training domain covers it (``estimate_quality``, ``DomainGate``,
  ``gate_from_clips``, ``corpus_qualities``).
* :mod:`~ser_core.audio.augment`: training-time augmentation keyed for the feature cache
  (``SpeedPerturbation``, ``PitchShift``, and the corruptions ``AddedNoise``,
  ``Reverberation``, ``TelephoneBand``, ``CodecRoundTrip``; ``parse_augmentation``,
  ``parse_augmentations``, ``SUGGESTED_AUGMENTATIONS``; ``missing_training_package``
  for pitch shifting's librosa).

Examples
--------
>>> from ser_core.audio.preprocess import PreprocessSettings, load_clip
>>> y = load_clip("clip.wav", settings=PreprocessSettings())  # doctest: +SKIP
"""
