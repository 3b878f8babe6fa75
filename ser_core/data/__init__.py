"""Corpora as data: finding and labelling clips, the corpus as arrays, splits and their checks.

Modules, by job:

* :mod:`~ser_core.data.labels`: the shared emotion vocabulary, its order and colours
  (``EMOTIONS``, ``ALL_EMOTIONS``, ``emotion_color``, ``label_order``).
* :mod:`~ser_core.data.naming`: the known naming conventions (RAVDESS, CREMA-D, TESS,
  SAVEE, EmoDB) mapped onto the labels (``CORPORA``, ``detect_corpus``, ``ravdess_actor``).
* :mod:`~ser_core.data.layouts`: any other labelled corpus, as one folder per label or a
  CSV/Parquet manifest, and label maps (``read_manifest``, ``read_label_map``,
  ``apply_label_map``, ``LAYOUTS``).
* :mod:`~ser_core.data.archive`: corpus zips unpacked within safe limits (``ZipLimits``,
  ``unpack_zip``).
* :mod:`~ser_core.data.index`: a folder, zip or manifest to a table of usable, labelled
  clips (``index_corpus``, ``CorpusIndex``, ``SkippedFile``, ``summarize``).
* :mod:`~ser_core.data.download`: RAVDESS from Zenodo, resumable and verified
  (``download_ravdess``, ``RAVDESS_URL``).
* :mod:`~ser_core.data.dataset`: index + features as arrays (``load_dataset``, ``Dataset``).
* :mod:`~ser_core.data.protocols`: protocol names and their plain words
  (``TRAINING_PROTOCOLS``, ``protocol_title``, ``protocol_rank``).
* :mod:`~ser_core.data.splits`: the protocols' index arrays (``protocol_splits``,
  ``grouped_kfold``, ``holdout_actors``, ``validation_split``, ``declared_split``).
* :mod:`~ser_core.data.duplicates`: exact and near-duplicate audio (``fingerprint``,
  ``find_duplicates``).
* :mod:`~ser_core.data.leakage`: leakage checks for a corpus and a split
  (``leakage_report``, ``check_training_leakage``, ``LeakageReport``).

Examples
--------
>>> from ser_core.data.index import index_corpus, summarize
>>> summarize(index_corpus("../shared/data/ravdess-16k"))["n_clips"]  # doctest: +SKIP
1200
"""
