"""Speech emotion recognition studio: audio in, emotions out, and the figures to trust them.

Subpackages, lowest layer first (a package imports only those above it in this list):

* :mod:`ser_core.audio`: sources, decoding, NumPy DSP, preprocessing, augmentation.
* :mod:`ser_core.features`: feature kinds, extraction of one clip or a corpus, the cache.
* :mod:`ser_core.data`: corpora indexed and labelled, datasets, protocols, splits,
  duplicates and leakage checks, the RAVDESS download.
* :mod:`ser_core.models`: the model families (Keras, torch, scikit-learn), speaker statistics.
* :mod:`ser_core.scoring`: metrics, temperature scaling, cross-corpus scores, latency.
* :mod:`ser_core.modelfolder`: results format, model card, loaded models, reading and
  writing model folders.
* :mod:`ser_core.serving`: files, long recordings, speakers, CSV, Dask workers.
* :mod:`ser_core.training`: run configs, protocols, the model to ship, ensembles.
* :mod:`ser_core.reporting`: charts, comparison table, the stakeholder report.
* :mod:`ser_core.cli`: ``python -m ser_core``.

Under them all: :mod:`ser_core.errors` (the one error hierarchy), :mod:`ser_core.storage`
(local paths or fsspec URLs), :mod:`ser_core.atomic` (crash-safe writes),
:mod:`ser_core.distributed` (Dask clusters) and :mod:`ser_core.formatting` (how figures are
written). Recipes (the shipped default, the study) live outside, in ``recipes/``.
"""

__version__ = "0.1.0"
