"""Glue for "Calibrate to this voice": collect enrolment clips, calibrate, compare both heads.

The speaker's statistics come only from the enrolment clips (unlabelled); a new clip is
then classified twice, by the single-clip head and by the speaker-adapted head
(:mod:`ser_core.serving.speakers`). The calibration lives in ``st.session_state``, tied to the
model and to the exact enrolment clips it was computed from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from ser_core.errors import InputError, SERError
from ui import cache
from ui.widgets import AUDIO_TYPES, AudioChoice


@dataclass(frozen=True)
class Comparison:
    """One clip classified by both heads: ``{emotion: probability}`` each."""

    single: dict[str, float]
    adapted: dict[str, float]

    @property
    def adapted_label(self) -> str:
        """The most likely emotion under the speaker-adapted head."""
        return max(self.adapted, key=self.adapted.get)

    @property
    def single_label(self) -> str:
        """The most likely emotion under the single-clip head."""
        return max(self.single, key=self.single.get)


def supported(model) -> bool:
    """True when the model can be calibrated to a speaker."""
    return model.supports_speaker_adaptation


def _recordings_key(key: str) -> str:
    return f"{key}_recordings"


def _calibration_key(key: str) -> str:
    return f"{key}_calibration"


def recordings(*, key: str) -> list[AudioChoice]:
    """The enrolment recordings made in this session (a list kept in ``st.session_state``)."""
    return st.session_state.setdefault(_recordings_key(key), [])


def clear(*, key: str) -> None:
    """Forget the session's enrolment recordings and its calibration."""
    st.session_state[_recordings_key(key)] = []
    st.session_state.pop(_calibration_key(key), None)


def enrolment_collector(*, key: str, sample_rate: int = 16000) -> list[AudioChoice]:
    """Uploader for several clips plus a recorder that adds one clip per recording; return all clips.

    Each finished recording is appended to the session's list and the recorder comes
    back empty (its widget key counts the recordings), so a speaker can record as many
    clips as they like.
    """
    uploads = st.file_uploader("Clips of the speaker (several files)", type=list(AUDIO_TYPES),
                               accept_multiple_files=True, key=f"{key}_enrol_upload",
                               help="Any emotion: the labels are not needed, only the voice.")
    recorded = recordings(key=key)
    clip = st.audio_input(f"Record clip {len(recorded) + 1} (a sentence or two, any emotion)",
                          key=f"{key}_enrol_record_{len(recorded)}", sample_rate=sample_rate)
    if clip is not None:
        recorded.append(AudioChoice(name=f"recording {len(recorded) + 1}", data=clip.getvalue(),
                                    source="record"))
        st.rerun()
    clips, seen = [], set()
    for clip in [AudioChoice(name=u.name, data=u.getvalue()) for u in uploads or []] + list(recorded):
        digest = hashlib.sha256(clip.raw_bytes()).hexdigest()
        if digest not in seen:  # the same file added twice counts once
            seen.add(digest)
            clips.append(clip)
    return clips


def _signature(model_path: str, clips: list[AudioChoice]) -> tuple:
    """What a calibration depends on: the model folder and the bytes of every enrolment clip."""
    digests = tuple(hashlib.sha256(c.raw_bytes()).hexdigest() for c in clips)
    return (str(model_path), digests)


def _decoded(choice: AudioChoice, *, sample_rate: int, max_duration_s: float | None) -> np.ndarray:
    payload = str(choice.path) if choice.path is not None else choice.data
    return cache.audio(payload, sample_rate=sample_rate, max_duration_s=max_duration_s)


def _features(choice: AudioChoice, *, model_path: str, sample_rate: int,
              max_duration_s: float | None) -> np.ndarray:
    """The feature row a calibration reads from one picked clip, through the app caches."""
    y = _decoded(choice, sample_rate=sample_rate, max_duration_s=max_duration_s)
    return cache.adaptation_features(y, model_path=str(model_path), sample_rate=sample_rate)


def calibrate(model_path, clips: list[AudioChoice], *, key: str, sample_rate: int = 16000,
              max_duration_s: float | None = None):
    """Calibrate the model to the speaker of ``clips``, remember it for this session and return it.

    A clip that cannot be used raises an :class:`InputError` naming that clip.
    """
    from ser_core.serving.speakers import calibrate_from_features

    rows = []
    for clip in clips:
        try:
            rows.append(_features(clip, model_path=model_path, sample_rate=sample_rate,
                                  max_duration_s=max_duration_s))
        except SERError as error:
            raise InputError(f"enrolment clip {clip.name}: {error}") from None
    calibration = calibrate_from_features(cache.model(model_path), np.stack(rows) if rows else np.zeros((0, 0)))
    st.session_state[_calibration_key(key)] = (_signature(model_path, clips), calibration)
    return calibration


def current(model_path, clips: list[AudioChoice], *, key: str):
    """The session's calibration when it was made from exactly these clips with this model, else None."""
    stored = st.session_state.get(_calibration_key(key))
    if stored is None or stored[0] != _signature(model_path, clips):
        return None
    return stored[1]


def is_stale(model_path, clips: list[AudioChoice], *, key: str) -> bool:
    """True when a calibration exists but the model or the enrolment clips changed since."""
    return _calibration_key(key) in st.session_state and current(model_path, clips, key=key) is None


def compare(calibration, choice: AudioChoice, *, model_path, sample_rate: int = 16000,
            max_duration_s: float | None = None) -> Comparison:
    """Classify one clip with the single-clip head and the speaker-adapted head."""
    y = _decoded(choice, sample_rate=sample_rate, max_duration_s=max_duration_s)
    row = cache.adaptation_features(y, model_path=str(model_path), sample_rate=sample_rate)
    model = cache.model(model_path)
    single = cache.probabilities(y, model_path=str(model_path), sample_rate=sample_rate)
    adapted = calibration.predict_proba(y, sample_rate=sample_rate, features=row)
    return Comparison(single=dict(single), adapted=dict(zip(model.labels, map(float, adapted))))
