"""The Predict page's honesty: what the model is known to achieve, and what a single result can and cannot say."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ser_core.formatting import percent
from ui import cache


def track_record(model) -> str:
    """The model's track record in one sentence: the lead of its plain summary (the same words as Home and the report)."""
    from ser_core.reporting.summary import plain_summary

    return f"**{model.name}**: {plain_summary(model).lead}"


def track_record_details(model) -> str:
    """The rest of the plain summary (Markdown bullets): speech, who it was tested on, where it is weak, what not."""
    from ser_core.reporting.summary import plain_summary

    return "\n".join(plain_summary(model).markdown().splitlines()[2:])


def score_caption(score: float, *, model=None) -> str:
    """What a top score means, in words: how often the model was right at this score on speakers it never heard.

    The figure comes from the model folder's reliability table (the one its card prints,
    :func:`ser_core.modelfolder.reliability.folder_reliability`); without one, a plain
    reading of the score that promises nothing.
    """
    from ser_core.modelfolder.reliability import bin_name

    table = cache.reliability(str(model.path)) if model is not None and getattr(model, "path", None) else None
    row = table.row_for(score) if table is not None else None
    if row is None:
        if score >= 0.5:
            return "The model leans towards this emotion; it has no measured record of how often it is right at this score."
        return "The model hesitates between several emotions; do not read much into this one."
    right = row["accuracy"]
    word = "A high score" if right >= 0.9 else ("A fair score" if right >= 0.6 else "A low score")
    return (f"{word}: at a top score of {bin_name(row)}, this model was right {percent(right, decimals=0)} of the time "
            f"on speakers it never heard ({row['n_clips']:,} clips, {table.title}).")


def decode(choice, *, sample_rate: int, max_duration_s: float) -> tuple[np.ndarray, str | None]:
    """Decoded mono audio of the picked clip (through the cache), and a note when the file is truncated."""
    y = cache.audio(choice.payload(), sample_rate=sample_rate, max_duration_s=max_duration_s)
    note = None
    if _truncated(choice):
        note = ("This file is truncated: its header promises more audio than it holds. What is there was "
                "classified; the result may not describe the whole recording.")
    return y, note


@contextmanager
def damage_told(*, truncated: bool):
    """Errors on what a truncated file holds (e.g. its silent start) say first that the file is damaged."""
    from ser_core.audio.decode import as_damage
    from ser_core.errors import InputError

    try:
        yield
    except InputError as error:
        raise as_damage(error, truncated=truncated) from error


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
    if choice.source == "example":
        from ui import examples

        example = examples.for_path(choice.path)
        if example is not None and examples.heard_in_training(example, model.config):
            return (f"{model.name} was trained on this speaker's clips ({example.title.split(' · ')[1]}): expect a "
                    "better score than on a voice it never heard.")
        return None
    if choice.path is not None and training.get("data"):
        if _in_corpus(Path(choice.path), str(training["data"])):
            return ("This clip was in the model's training data: the model has heard it, so its score says little "
                    "about how it does on a new voice. Try a recording of your own.")
    actor = ravdess_actor(choice.name)
    trained_actors = int(training.get("n_speakers") or 0)
    if actor is not None and training.get("corpus") == "ravdess" and 0 < int(actor) <= trained_actors:
        return (f"This looks like a RAVDESS clip of actor {actor}, one of the speakers the model was trained on: "
                "expect a better score than on a new voice.")
    return None


def example_track_record(model, choice) -> str | None:
    """For a shipped example: what the model scored on the example's corpus when it was left out of training."""
    from ui import examples

    example = examples.for_path(choice.path) if choice.source == "example" else None
    if example is None or model.metrics is None:
        return None
    loco = model.metrics.protocols.get("loco")
    return examples.track_record(example, loco.per_corpus if loco is not None else None)


def adaptation_gain(model) -> str:
    """The measured gain of adapting to a speaker, from the model's own figures (or nothing).

    On corpora it never heard (``loco`` and ``loco_speaker_adapted``) when measured, else on new
    speakers of its own corpus (``kfold`` and ``kfold_speaker_adapted``).
    """
    protocols = model.metrics.protocols if model.metrics is not None else {}
    single, adapted = protocols.get("loco"), protocols.get("loco_speaker_adapted")
    if single is not None and adapted is not None:
        from ser_core.reporting.summary import corpus_title

        corpora = ", ".join(corpus_title(row["corpus"]) for row in adapted.per_corpus)
        return (f"On corpora it never heard ({corpora}; each left out of training in turn), {model.name} "
                f"recognises {percent(single.mean('uar'))} of emotions (UAR) one clip at a time and "
                f"{percent(adapted.mean('uar'))} adapted to each voice from "
                f"{adapted.settings.get('enrolment', 'its clips')} (emotions unknown); with only a few clips the "
                "gain is smaller.")
    single, adapted = protocols.get("kfold"), protocols.get("kfold_speaker_adapted")
    if single is None or adapted is None:
        return ""
    return (f"On RAVDESS actors it never heard, {model.name} goes from {percent(single.mean('accuracy'))} to "
            f"{percent(adapted.mean('accuracy'))} accuracy when adapted with all of a speaker's clips "
            f"({adapted.title}); with only a few clips the gain is smaller.")
