"""The example clips shipped with the app (``examples/``): voices the default never heard, with their true label.

``examples/examples.csv`` lists them (``path,label,speaker,corpus,licence,attribution``,
paths relative to that folder); ``examples/README.md`` states where each comes from and
its licence. Home and Predict offer them with one click, in local and public mode, and
the verdict shows the true label beside the model's (:func:`verdict_check`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ui.paths import REPO_ROOT

#: The folder of example clips and its manifest.
EXAMPLES_DIR = REPO_ROOT / "examples"
MANIFEST = EXAMPLES_DIR / "examples.csv"
#: The audio picker's source name for the examples.
SOURCE = "Example"


@dataclass(frozen=True)
class Example:
    """One shipped clip: where it is, its true label, whose voice, from which corpus, under which licence."""

    path: Path
    label: str
    speaker: str
    corpus: str
    licence: str
    attribution: str

    @property
    def title(self) -> str:
        """How a picker names it: ``angry · RAVDESS speaker 20``."""
        from ser_core.reporting.summary import corpus_title

        speaker = self.speaker.split(":", 1)[-1]
        return f"{self.label} · {corpus_title(self.corpus)} speaker {speaker}"

    @property
    def credit(self) -> str:
        """The attribution line a page prints under the clip."""
        return f"{self.attribution}; {self.licence}."


def examples(manifest: Path = MANIFEST) -> list[Example]:
    """The shipped examples in manifest order; empty when the folder or a listed file is missing."""
    import csv

    if not manifest.is_file():
        return []
    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    found = [Example(path=manifest.parent / row["path"], label=row["label"], speaker=row["speaker"],
                     corpus=row["corpus"], licence=row["licence"], attribution=row["attribution"]) for row in rows]
    return [example for example in found if example.path.is_file()]


def heard_in_training(example: Example, config: dict) -> bool:
    """Whether a model (its ``config``) may have heard this example's speaker in training.

    False when the example's corpus is not among the model's training corpora, or when the
    model's training facts list the speaker under ``held_out_for_examples``; True otherwise
    (the speaker's corpus was trained on and the speaker was not said to be held out).
    """
    from ser_core.reporting.summary import training_corpora

    training = (config or {}).get("training") or {}
    corpora = {name.lower() for name in training_corpora(config or {})}
    if example.corpus.lower() not in corpora:
        return False
    return example.speaker not in set(training.get("held_out_for_examples") or ())


def track_record(example: Example, per_corpus) -> str | None:
    """What a model scored on the example's corpus when that corpus was left out of its training, or None.

    ``per_corpus``: the model's leave-one-corpus-out rows (``ProtocolResult.per_corpus``: corpus,
    uar, shared labels), so a visitor knows how often to expect a wrong verdict on such a voice.
    """
    from ser_core.formatting import percent
    from ser_core.reporting.summary import corpus_title

    row = next((row for row in per_corpus or [] if row.get("corpus") == example.corpus), None)
    if row is None or row.get("uar") is None:
        return None
    labels = row.get("shared_labels") or []
    chance = f"; {len(labels)} emotions, chance {percent(1 / len(labels), decimals=0)}" if labels else ""
    return (f"With {corpus_title(example.corpus)} left out of its training, the model recognised "
            f"{percent(row['uar'])} of emotions on its clips (UAR{chance}): expect some wrong verdicts.")


def for_path(path) -> Example | None:
    """The shipped example at ``path`` (None for any other file)."""
    try:
        resolved = Path(path).resolve()
    except (OSError, TypeError):
        return None
    return next((example for example in examples() if example.path.resolve() == resolved), None)


def verdict_check(true_label: str | None, predicted: str, *, known=None) -> str | None:
    """Markdown beside a verdict: the true label with ✓ or ✗ (None when the clip has no known label).

    ``known``: the model's labels; a true label outside them is said to be one the model cannot give.
    """
    if not true_label:
        return None
    if known is not None and true_label not in known:
        return f"The speaker acted **{true_label}**, an emotion this model does not know: it cannot be right here."
    if true_label == predicted:
        return f"✓ Right: the speaker acted **{true_label}**."
    return f"✗ Wrong: the speaker acted **{true_label}**, the model heard {predicted}."
