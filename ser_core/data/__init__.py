"""Corpora as data: finding and labelling clips, the corpus as arrays, splits and their checks.

Modules, by job:

* :mod:`~ser_core.data.labels`: the shared emotion vocabulary, its order and colours
  (``EMOTIONS``, ``ALL_EMOTIONS``, ``emotion_color``, ``label_order``).
* :mod:`~ser_core.data.naming`: the known naming conventions (RAVDESS, CREMA-D, TESS,
  SAVEE, EmoDB) mapped onto the labels (``CORPORA``, ``detect_corpus``, ``ravdess_actor``).
* :mod:`~ser_core.data.layouts`: any other labelled corpus, as one folder per label or a
  CSV/Parquet manifest (which may gather several corpora in its ``corpus`` column), and
  label maps (``read_manifest``, ``read_label_map``, ``apply_label_map``, ``LAYOUTS``).
* :mod:`~ser_core.data.archive`: corpus zips unpacked within safe limits (``ZipLimits``,
  ``unpack_zip``).
* :mod:`~ser_core.data.index`: a folder, zip or manifest to a table of usable, labelled
  clips, each with its label, speaker and corpus (``index_corpus``, ``CorpusIndex`` with
  its ``layout`` and ``corpora``, ``SkippedFile``, ``summarize``).
* :mod:`~ser_core.data.download`: RAVDESS from Zenodo, resumable and verified
  (``download_ravdess``, ``RAVDESS_URL``).
* :mod:`~ser_core.data.dataset`: index + features as arrays: ``labels``, ``speakers``,
  ``corpora``, ``paths`` (``load_dataset``, ``Dataset``).
* :mod:`~ser_core.data.protocols`: protocol names and their plain words
  (``TRAINING_PROTOCOLS``, ``protocol_title``, ``protocol_rank``).
* :mod:`~ser_core.data.splits`: the protocols' index arrays, from one split spec
  (``split``, ``SplitSpec``, ``grouped_kfold``, ``holdout_speakers``,
  ``leave_one_corpus_out``, ``validation_split``, ``declared_split``, ``speaker_keys``).
* :mod:`~ser_core.data.duplicates`: exact and near-duplicate audio (``fingerprint``,
  ``find_duplicates``).
* :mod:`~ser_core.data.leakage`: leakage checks for a corpus and a split, one function per
  check (``leakage_report``, ``split_clips``, ``check_training_leakage``, ``LeakageReport``).

Examples
--------
>>> from ser_core.data.index import index_corpus, summarize
>>> summarize(index_corpus("../shared/data/ravdess-16k"))["n_clips"]  # doctest: +SKIP
1200
>>> summarize(index_corpus("/work/corpora/all.csv"))["by_corpus"]  # doctest: +SKIP
{'ravdess': 1199, 'savee': 480, 'tess': 2800, 'turev': 1735}
"""
