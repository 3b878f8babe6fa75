"""Glue for "Adapt to this voice": collect enrolment clips, adapt the model, compare both heads.

The speaker's statistics come only from the enrolment clips (unlabelled); a new clip is
then classified twice, by the single-clip head and by the speaker-adapted head
(:mod:`ser_core.serving.speakers`). The :class:`~ser_core.serving.speakers.SpeakerAdaptation`
lives in ``st.session_state``, tied to the model and to the exact enrolment clips it was
computed from. This is speaker adaptation; the probabilities are temperature-scaled
either way.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from ser_core.errors import InputError, SERError
from ser_core.modelfolder.prediction import Prediction
from ui import cache
from ui.widgets import AUDIO_TYPES, AudioChoice


def supported(model) -> bool:
    """True when the model can be adapted to a speaker."""
    return model.supports_speaker_adaptation


def _recordings_key(key: str) -> str:
    return f"{key}_recordings"


def _adaptation_key(key: str) -> str:
    return f"{key}_adaptation"


def recordings(*, key: str) -> list[AudioChoice]:
    """The enrolment recordings made in this session (a list kept in ``st.session_state``)."""
    return st.session_state.setdefault(_recordings_key(key), [])


def clear(*, key: str) -> None:
    """Forget the session's enrolment recordings and its speaker adaptation."""
    st.session_state[_recordings_key(key)] = []
    st.session_state.pop(_adaptation_key(key), None)


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


def _signature(model, clips: list[AudioChoice]) -> tuple:
    """What an adaptation depends on: the model folder's signature and the bytes of every enrolment clip."""
    digests = tuple(hashlib.sha256(c.raw_bytes()).hexdigest() for c in clips)
    return (model.signature, digests)


def _features(choice: AudioChoice, *, model, max_duration_s: float | None):
    """The model's features of one picked clip, through the app caches."""
    y = cache.audio(choice.payload(), sample_rate=model.sample_rate, max_duration_s=max_duration_s)
    return cache.features(y, model=model, sample_rate=model.sample_rate)


def adapt(model, clips: list[AudioChoice], *, key: str, max_duration_s: float | None = None):
    """Adapt the model to the speaker of ``clips``, remember it for this session and return it.

    A clip that cannot be used (undecodable, silent, too long) is left out and named by
    :func:`left_out`; with fewer than :data:`MIN_ENROLMENT_CLIPS` usable clips an
    :class:`InputError` names every clip that failed and why.
    """
    from ser_core.serving.speakers import MIN_ENROLMENT_CLIPS, adapt_from_features

    features, failed = [], []
    for clip in clips:
        try:
            features.append(_features(clip, model=model, max_duration_s=max_duration_s))
        except SERError as error:
            failed.append(f"{clip.name}: {error}")
    if len(features) < MIN_ENROLMENT_CLIPS:
        raise InputError(f"{len(features)} of the {len(clips)} enrolment clips can be used; at least "
                         f"{MIN_ENROLMENT_CLIPS} are needed. " + "; ".join(failed))
    adaptation = adapt_from_features(model, features)
    st.session_state[_adaptation_key(key)] = (_signature(model, clips), adaptation, tuple(failed))
    return adaptation


def current(model, clips: list[AudioChoice], *, key: str):
    """The session's speaker adaptation when it was made from exactly these clips with this model, else None."""
    stored = st.session_state.get(_adaptation_key(key))
    if stored is None or stored[0] != _signature(model, clips):
        return None
    return stored[1]


def left_out(model, clips: list[AudioChoice], *, key: str) -> tuple[str, ...]:
    """The enrolment clips the current adaptation could not use, each with its reason."""
    stored = st.session_state.get(_adaptation_key(key))
    return stored[2] if stored is not None and stored[0] == _signature(model, clips) else ()


def is_stale(model, clips: list[AudioChoice], *, key: str) -> bool:
    """True when an adaptation exists but the model or the enrolment clips changed since."""
    return _adaptation_key(key) in st.session_state and current(model, clips, key=key) is None


def compare(adaptation, choice: AudioChoice, *, model, max_duration_s: float | None = None) -> Prediction:
    """One clip under the speaker-adapted head, with its single-clip prediction as ``single_clip``.

    Both come from the clip's features, extracted once.
    """
    X = model.stack_features([_features(choice, model=model, max_duration_s=max_duration_s)])
    where = {"labels": model.labels, "model": model.name, "source": choice.name}
    single = Prediction.from_proba(model.predict_proba(X)[0], **where)
    return Prediction.from_proba(adaptation.predict_proba(X)[0], adapted=True, single_clip=single, **where)
