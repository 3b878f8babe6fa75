"""What a model says: one clip or window (:class:`Prediction`), a recording over time (:class:`Timeline`).

Every model kind answers ``predict_audio(source)`` with a :class:`Prediction`: the loaded
model and the ensemble (:mod:`ser_core.modelfolder.loaded`) and a model adapted to one
speaker (:class:`ser_core.serving.speakers.SpeakerAdaptation`). The windows of a long
recording (:mod:`ser_core.serving.segments`) are predictions with ``start_s`` and ``end_s``,
gathered in a :class:`Timeline`, whose headline (:meth:`Timeline.summary`) is a
:class:`TimelineSummary`: a prediction over the whole recording. These objects travel
unchanged to the surfaces: the CLI writes :meth:`Prediction.to_record` (JSON lines) or
CSV rows (:mod:`ser_core.serving.exports`), and a page makes a table with
:meth:`Timeline.to_frame` where it draws one.

The one place where probabilities become a label is :meth:`Prediction.from_proba`.

Examples
--------
>>> p = Prediction.from_proba([0.25, 0.75], labels=["calm", "sad"], model="m", source="a.wav")
>>> p.label, p.score
('sad', 0.75)
>>> p.to_record()
{'path': 'a.wav', 'label': 'sad', 'probabilities': {'calm': 0.25, 'sad': 0.75}}
>>> windows = [Prediction.from_proba(proba, labels=["calm", "sad"], start_s=start, end_s=start + 3.0)
...            for start, proba in ((0.0, [0.8, 0.2]), (1.5, [0.6, 0.4]), (3.0, [0.1, 0.9]))]
>>> summary = Timeline(windows, labels=["calm", "sad"]).summary()
>>> summary.label, round(summary.share, 3), summary.n_segments
('calm', 0.667, 3)
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ser_core.errors import InputError

#: What a timeline summary says when no window could be classified.
ALL_SILENT = "every window was silent or too short to classify"


def source_name(source) -> str:
    """How a prediction names its clip: the path of a file; nothing for bytes, a file object or an array."""
    return str(source) if isinstance(source, (str, os.PathLike)) else ""


@dataclass(frozen=True)
class Prediction:
    """One clip or one window of a recording, as a model heard it.

    ``probabilities`` maps every label of the model to its (temperature-scaled)
    probability, in the model's label order; it is empty, and ``label`` None, when the
    clip or window could not be classified (``error`` says why). ``source`` names the
    clip (a path, an upload's name, ``microphone``); ``start_s`` and ``end_s`` place a
    window in its recording. On the speaker path (:func:`ser_core.serving.speakers.predict_speakers`)
    ``speaker`` names who spoke, ``adapted`` says whether the speaker-adapted head gave the
    probabilities, and ``single_clip`` is the same clip classified on its own.
    """

    label: str | None
    probabilities: Mapping[str, float] = field(default_factory=dict)
    model: str = ""
    source: str = ""
    start_s: float | None = None
    end_s: float | None = None
    error: str | None = None
    warning: str | None = None
    speaker: str | None = None
    adapted: bool | None = None
    single_clip: Prediction | None = None

    @classmethod
    def from_proba(cls, proba, *, labels: Sequence[str], **fields) -> Prediction:
        """The prediction of one probability row (in ``labels`` order): its most likely label and every probability."""
        proba = np.asarray(proba, dtype=np.float64).reshape(-1)
        if len(proba) != len(labels):
            raise InputError(f"{len(proba)} probabilities for {len(labels)} labels ({', '.join(map(str, labels))}); "
                             "expected one per label")
        label = str(labels[int(np.argmax(proba))])
        return cls(label=label, probabilities={str(name): float(p) for name, p in zip(labels, proba)}, **fields)

    @classmethod
    def failed(cls, error, **fields) -> Prediction:
        """A clip or window that could not be classified, and why."""
        return cls(label=None, probabilities={}, error=str(error), **fields)

    @property
    def ok(self) -> bool:
        """True when the clip or window was classified."""
        return self.label is not None

    @property
    def is_window(self) -> bool:
        """True for one window of a recording's timeline."""
        return self.start_s is not None

    @property
    def score(self) -> float | None:
        """The probability of :attr:`label` (None when not classified)."""
        return self.probabilities[self.label] if self.ok else None

    @property
    def labels(self) -> list[str]:
        """The model's labels, in probability order (empty when not classified)."""
        return list(self.probabilities)

    def to_array(self, labels: Sequence[str] | None = None) -> np.ndarray:
        """The probabilities as an array, in ``labels`` order (default: the model's)."""
        order = self.labels if labels is None else labels
        return np.array([self.probabilities[label] for label in order], dtype=np.float64)

    def replace(self, **changes) -> Prediction:
        """A copy with some fields changed (``source``, ``start_s``, ``speaker``, ...)."""
        return dataclasses.replace(self, **changes)

    def to_record(self) -> dict:
        """The prediction as a JSON-ready dict: ``path``, a window's ``start_s`` and ``end_s``, ``label``,
        ``probabilities`` (None when not classified), the speaker path's ``speaker``, ``adapted`` and
        ``single_clip_label``, and ``error`` or ``warning`` when there is one."""
        record = {"path": self.source}
        if self.is_window:
            record.update(start_s=self.start_s, end_s=self.end_s)
        if self.ok or self.is_window or self.error is None:
            record.update(label=self.label, probabilities=dict(self.probabilities) if self.ok else None)
        if self.speaker is not None:
            record.update(speaker=self.speaker, adapted=bool(self.adapted),
                          single_clip_label=self.single_clip.label if self.single_clip is not None else self.label)
        record.update({key: value for key, value in (("error", self.error), ("warning", self.warning)) if value})
        return record


@dataclass(frozen=True)
class TimelineSummary(Prediction):
    """The headline of a recording's timeline: the emotion heard in the most windows.

    A prediction over the whole recording (``start_s`` 0, ``end_s`` its duration):
    ``label`` won the most voiced windows (ties go to the higher mean probability),
    ``share`` is the fraction of voiced windows it won, ``probabilities`` the mean over
    the voiced windows; ``n_segments`` counts the voiced windows and ``n_silent`` the
    others. When no window was voiced, ``label`` is None and ``error`` says so.
    """

    share: float = 0.0
    n_segments: int = 0
    n_silent: int = 0

    @property
    def is_window(self) -> bool:
        """False: a summary spans the whole recording."""
        return False

    @property
    def duration_s(self) -> float:
        """Seconds of the recording the timeline covers."""
        return float(self.end_s or 0.0)

    def to_record(self) -> dict:
        """``{"path", "summary": True, "duration_s", "label", "share", "probabilities", "n_segments", "n_silent"}``,
        or ``{"path", "summary": True, "error"}`` when no window was voiced."""
        if not self.ok:
            return {"path": self.source, "summary": True, "error": self.error}
        return {"path": self.source, "summary": True, "duration_s": round(self.duration_s, 3), "label": self.label,
                "share": self.share, "probabilities": dict(self.probabilities), "n_segments": self.n_segments,
                "n_silent": self.n_silent}


@dataclass
class Timeline:
    """The windows of one recording in time order, each a :class:`Prediction` (unclassified ones included).

    ``labels`` are the model's, in probability order. A timeline grows window by window
    (:meth:`append`) while a recording is classified, so its summary is ready at the end
    without keeping the audio.
    """

    windows: list[Prediction] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    source: str = ""
    model: str = ""

    def __post_init__(self):
        self.windows = list(self.windows)
        self.labels = [str(label) for label in self.labels]

    def __iter__(self):
        return iter(self.windows)

    def __len__(self) -> int:
        return len(self.windows)

    def append(self, window: Prediction) -> None:
        """Add the next window."""
        self.windows.append(window)

    @property
    def voiced(self) -> list[Prediction]:
        """The windows that were classified."""
        return [window for window in self.windows if window.ok]

    @property
    def duration_s(self) -> float:
        """Seconds covered: the end of the last window (0 for an empty timeline)."""
        return float(self.windows[-1].end_s or 0.0) if self.windows else 0.0

    def summary(self) -> TimelineSummary:
        """The emotion heard in the most windows, its share and the mean probabilities (:class:`TimelineSummary`)."""
        voiced = self.voiced
        where = {"model": self.model, "source": self.source, "start_s": 0.0, "end_s": self.duration_s}
        if not voiced:
            return TimelineSummary(label=None, error=ALL_SILENT, n_silent=len(self.windows), **where)
        counts = Counter(window.label for window in voiced)
        mean = {label: float(np.mean([window.probabilities[label] for window in voiced])) for label in self.labels}
        dominant = max(counts, key=lambda label: (counts[label], mean[label]))
        return TimelineSummary(label=dominant, probabilities=mean, share=counts[dominant] / len(voiced),
                               n_segments=len(voiced), n_silent=len(self.windows) - len(voiced), **where)

    def to_frame(self):
        """The timeline as a table for a chart: ``start_s``, ``end_s``, ``time_s`` (the window's centre),
        ``label``, ``error`` and one column per label (empty for an unclassified window)."""
        import pandas as pd

        rows = [{"start_s": window.start_s, "end_s": window.end_s,
                 "time_s": (window.start_s + window.end_s) / 2, "label": window.label, "error": window.error,
                 **{label: window.probabilities.get(label, np.nan) for label in self.labels}}
                for window in self.windows]
        return pd.DataFrame(rows, columns=["start_s", "end_s", "time_s", "label", "error", *self.labels])

    def tail(self, n: int) -> Timeline:
        """The last ``n`` windows, as a timeline."""
        return dataclasses.replace(self, windows=self.windows[-n:] if n > 0 else [])
