"""Find and label the clips of an emotional speech corpus (folder at any depth, or zip).

Rooms of this package, by job:

* :mod:`~ser_core.corpus.naming`: the five known naming conventions (RAVDESS, CREMA-D,
  TESS, SAVEE, EmoDB) mapped onto :mod:`ser_core.labels`;
* :mod:`~ser_core.corpus.layouts`: any other labelled corpus, as one folder per label or
  a CSV/Parquet manifest, and label maps;
* :mod:`~ser_core.corpus.archive`: corpus zips unpacked within safe limits;
* :mod:`~ser_core.corpus.index`: walking a folder (or reading a manifest) into a table of
  usable, labelled clips.

Examples
--------
>>> from ser_core.corpus import index_corpus, summarize
>>> summarize(index_corpus("../shared/data/ravdess-16k"))["n_clips"]  # doctest: +SKIP
1200
"""

from ser_core.corpus.index import COLUMNS, CorpusIndex, SkippedFile, index_corpus, resolve_root, summarize
from ser_core.corpus.layouts import LAYOUTS, MANIFEST_SUFFIXES, read_label_map
from ser_core.corpus.naming import CORPORA, detect_corpus, normalize_corpus_name, ravdess_actor

__all__ = ["COLUMNS", "CORPORA", "CorpusIndex", "LAYOUTS", "MANIFEST_SUFFIXES", "SkippedFile", "detect_corpus",
           "index_corpus", "normalize_corpus_name", "ravdess_actor", "read_label_map", "resolve_root", "summarize"]
