"""The Predict page's honesty: what the model is known to achieve, and what a single result can and cannot say."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser_core.formatting import percent, percent_spread
from ui import cache


def track_record(model) -> str:
    """One sentence: the model's accuracy on voices it never heard, or that it has no such figure."""
    metrics = model.metrics
    headline = metrics.headline if metrics is not None else None
    if headline is None:
        return f"**{model.name}** has no evaluation figures: treat its scores as untested."
    chance = 1 / max(len(model.labels), 1)
    if headline.speaker_independent:
        return (f"**{model.name}** is right about {percent_spread(headline.mean('accuracy'), headline.std('accuracy'))} "
                f"of the time on voices it never heard ({headline.title}); chance is {percent(chance)}. "
                "The scores below are its calibrated probabilities.")
    return (f"**{model.name}** was only tested on the {headline.title}, where the same voices appear in training: "
            f"{percent(headline.mean('accuracy'))} there says little about a new voice.")


def score_caption(score: float) -> str:
    """What a top score means, in words."""
    if score >= 0.9:
        return "A high score: when this model is this sure, it is usually right."
    if score >= 0.5:
        return "A moderate score: the model leans towards this emotion but is not sure."
    return "A low score: the model hesitates between several emotions; do not read much into this one."


def decode(choice, *, sample_rate: int, max_duration_s: float) -> tuple[np.ndarray, str | None]:
    """Decoded mono audio of the picked clip (through the cache), and a note when the file is truncated."""
    y = cache.audio(choice.payload(), sample_rate=sample_rate, max_duration_s=max_duration_s)
    note = None
    if _truncated(choice):
        note = ("This file is truncated: its header promises more audio than it holds. What is there was "
                "classified; the result may not describe the whole recording.")
    return y, note


def _truncated(choice) -> bool:
    """Whether a WAV's header declares more frames than the file holds (checked without decoding)."""
    import io

    from ser_core.audio.source import declared_wav_frames

    data = choice.raw_bytes()
    declared = declared_wav_frames(io.BytesIO(data[:4096]))
    if declared is None:
        return False
    try:
        import soundfile as sf

        return sf.info(io.BytesIO(data)).frames < declared
    except Exception:
        return False


def _in_corpus(path: Path, data: str) -> bool:
    """Whether a clip lies in a model's training corpus: ``data`` is its name (older folders: its path)."""
    root = Path(data).expanduser()
    try:
        if root.is_absolute():
            return root.is_dir() and path.resolve().is_relative_to(root.resolve())
        return root.name in {parent.name for parent in (*path.absolute().parents, *path.resolve().parents)}
    except OSError:
        return False


def training_clip_note(model, choice) -> str | None:
    """A warning when the clip was (or looks like a clip that was) in the model's training data."""
    from ser_core.data.naming import ravdess_actor

    training = (model.config.get("training") or {})
    if choice.path is not None and training.get("data"):
        if _in_corpus(Path(choice.path), str(training["data"])):
            return ("This clip was in the model's training data: the model has heard it, so its score says little "
                    "about how it does on a new voice. Try a recording of your own.")
    actor = ravdess_actor(choice.name)
    trained_actors = int(training.get("n_actors") or 0)
    if actor is not None and training.get("corpus") == "ravdess" and 0 < int(actor) <= trained_actors:
        return (f"This looks like a RAVDESS clip of actor {actor}, one of the speakers the model was trained on: "
                "expect a better score than on a new voice.")
    return None


def calibration_gain(model) -> str:
    """The measured gain of calibrating to a speaker, from the model's own figures (or nothing)."""
    metrics = model.metrics
    single = metrics.protocols.get("kfold") if metrics is not None else None
    adapted = metrics.protocols.get("kfold_speaker_adapted") if metrics is not None else None
    if single is None or adapted is None:
        return ""
    return (f"On RAVDESS actors it never heard, {model.name} goes from {percent(single.mean('accuracy'))} to "
            f"{percent(adapted.mean('accuracy'))} accuracy when calibrated with all of a speaker's clips "
            f"({adapted.title}); with only a few clips the gain is smaller.")
