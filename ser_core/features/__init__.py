"""Features: named kinds for one clip or a whole corpus.

Rooms of this package, by job:

* :mod:`~ser_core.features.names`: :class:`FeatureSpec` and the grammar of feature names
  (``MFCC-16000-40``, ``LOGMEL-16000-64-300``, ``COMPARE-16000``, ``W2V2-mean-all``, ``WHISPER-BASE-L3``, ...);
* :mod:`~ser_core.features.spectral`: the study's MFCC/Δ/ΔΔ/mel matrices and log-mel spectrograms;
* :mod:`~ser_core.features.opensmile`: eGeMAPS and ComParE functionals;
* :mod:`~ser_core.features.wav2vec2`: Wav2Vec2 hidden states;
* :mod:`~ser_core.features.whisper`: Whisper-base encoder states, offline, in NumPy;
* :mod:`~ser_core.features.extract`: one clip, any kind;
* :mod:`~ser_core.features.corpus`: many clips, in parallel, through the verified cache;
* :mod:`~ser_core.features.contours`: pitch and energy curves for the dashboard.

Examples
--------
>>> from ser_core.features import parse_kind
>>> parse_kind("MFCC-16000-40").shape
(160,)
"""

from ser_core.features.contours import PitchEnergy, pitch_energy_contours
from ser_core.features.corpus import CorpusFeatures, extract_clips, extract_corpus, failed_rows
from ser_core.features.extract import extract
from ser_core.features.names import FEATURE_KINDS, FEATURE_VERSION, FeatureSpec, parse_kind
from ser_core.features.spectral import StudyFrames, study_frames

__all__ = [
    "FEATURE_KINDS", "FEATURE_VERSION", "CorpusFeatures", "FeatureSpec", "PitchEnergy", "StudyFrames",
    "extract", "extract_clips", "extract_corpus", "failed_rows", "parse_kind", "pitch_energy_contours",
    "study_frames",
]
