"""openSMILE functionals (eGeMAPSv02, ComParE_2016): one extractor per feature set and process."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ser_core.errors import FeatureError
from ser_core.features.names import FeatureSpec


@lru_cache(maxsize=2)
def smile(kind: str):
    """The process's ``opensmile.Smile`` for ``EGEMAPS`` or ``COMPARE`` (built once: its set-up takes ~20 ms)."""
    import sys

    late = [name for name in ("tensorflow", "torch") if name in sys.modules]
    if "opensmile" not in sys.modules and late:
        # opensmile's native library crashes the whole process when first loaded after these.
        raise FeatureError(f"{kind} features cannot be computed in this process: it loaded {' and '.join(late)} "
                           "before opensmile, whose native library then crashes; import opensmile first or extract "
                           "the features in another process")
    try:
        import opensmile
    except ImportError as exc:  # pragma: no cover - opensmile is in requirements.txt
        raise FeatureError(f"{kind} features need the opensmile package: pip install opensmile") from exc
    feature_set = opensmile.FeatureSet.eGeMAPSv02 if kind == "EGEMAPS" else opensmile.FeatureSet.ComParE_2016
    return opensmile.Smile(feature_set=feature_set, feature_level=opensmile.FeatureLevel.Functionals)


def functionals(y: np.ndarray, *, spec: FeatureSpec) -> np.ndarray:
    """The feature set's functionals of one preprocessed clip, shape ``spec.shape``."""
    return smile(spec.kind).process_signal(y, spec.sample_rate).to_numpy(dtype=np.float32)[0]


def feature_names(kind: str) -> list[str]:
    """Column names of the ``EGEMAPS`` or ``COMPARE`` functionals, in output order."""
    return list(smile(kind).feature_names)
