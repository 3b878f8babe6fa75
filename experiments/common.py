"""What the experiments share beyond ``ser_core``: the corpus, feature names, folds and result lines.

Indexing, preprocessing, features (through the verified cache, ``$SER_CACHE_DIR``),
splits and metrics are the library's. Every grouped figure is scored on the library's
folds, ``grouped_kfold(groups, labels=..., seed=42)`` over the corpus without its
duplicate clip: the folds of ``python -m ser_core train --protocol kfold`` and of every
model card. Importing this module puts the repository root on ``sys.path``, so a script
imports it before ``ser_core``.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.features.cache import default_cache_dir  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
SEED = 42
#: The experiments' short feature names -> library feature kinds (any library kind is accepted too).
KINDS = {"study160": "MFCC-16000-40", "egemaps": "EGEMAPS-16000", "compare": "COMPARE-16000"}
#: Every result record is appended here as one JSON line.
RESULTS_LOG = Path(os.environ.get("SER_RESULTS_LOG", default_cache_dir() / "experiments" / "results.jsonl"))


def argument_parser(doc, *, seeds=None):
    """An ArgumentParser with the options every experiment has: --data, --seed (or --seeds) and --limit.

    ``seeds``: a script scored on several fold draws gets ``--seeds`` with these defaults.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help="corpus folder (default: ../shared/data/ravdess-16k)")
    if seeds is None:
        parser.add_argument("--seed", type=int, default=SEED, help="seed of the folds (default 42, the model cards')")
    else:
        parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",")], default=list(seeds),
                            help=f"seeds of the fold draws, comma-separated (default {','.join(map(str, seeds))})")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only N clips per actor, spread over the emotions (smoke tests)")
    return parser


@lru_cache(maxsize=4)
def corpus(data=str(DATA), *, limit=None):
    """The library's index of ``data`` without duplicate clips; with ``limit``, N clips per actor.

    The N clips are evenly spaced through each actor's clips (sorted by name, hence by
    emotion), so a small subset still has every emotion.
    """
    from ser_core.data.index import index_corpus

    index = index_corpus(data)
    clips = index.clips[index.clips["duplicate_of"].isna()]
    if limit is not None:
        keep = [rows[np.unique(np.linspace(0, len(rows) - 1, min(limit, len(rows))).round().astype(int))]
                for rows in clips.groupby("speaker").indices.values()]
        clips = clips.iloc[np.sort(np.concatenate(keep))]
    return replace(index, clips=clips.reset_index(drop=True))


def load(features, *, data=str(DATA), limit=None, augment=()):
    """A library ``Dataset`` of one feature set, or several joined with "+" (columns side by side).

    A name is a short name of :data:`KINDS`, a library feature kind, or an experiment-only
    set of :data:`extra_features.EXTRA_FEATURES`. ``augment``: augmentation keys (e.g.
    ``speed0.9``) whose copies are extracted too (one library kind only).
    """
    from ser_core.data.dataset import load_dataset

    from extra_features import EXTRA_FEATURES, extra_dataset

    if augment and ("+" in features or features in EXTRA_FEATURES):
        raise ValueError(f"augmented copies are extracted for one library feature kind, not for {features!r}")
    index = corpus(data, limit=limit)
    parts = [extra_dataset(index, name) if name in EXTRA_FEATURES
             else load_dataset(index, feature_kind=KINDS.get(name, name), augment=augment)
             for name in features.split("+")]
    if len(parts) == 1:
        return parts[0]
    check_same_clips(parts)
    return replace(parts[0], X=np.hstack([part.X for part in parts]), feature_kind=features, augmented={})


def check_same_clips(datasets):
    """Raise ValueError unless every dataset covers the same clips in the same order."""
    first = datasets[0]
    for other in datasets[1:]:
        if other.paths != first.paths:
            raise ValueError(f"{other.feature_kind} and {first.feature_kind} cover different clips "
                             "(a clip gave no features of one kind)")


def folds(dataset, *, seed=SEED, n_splits=5):
    """The library's speaker-independent folds of a dataset: ``[(train_idx, test_idx), ...]``."""
    from ser_core.data.splits import grouped_kfold

    return grouped_kfold(dataset.speakers, n_splits=n_splits, labels=dataset.labels, seed=seed)


def score(dataset, rows, predicted):
    """The library's metrics (accuracy, uar, macro_f1, ...) of predictions for the clips ``rows`` of a dataset."""
    from ser_core.scoring.metrics import evaluate_predictions

    return evaluate_predictions(dataset.labels[rows], predicted, labels=dataset.label_order)


def result_text(fold_metrics):
    """``acc 62.50 ± 2.62 | UAR 61.48 ± 3.34`` (percent, population std over folds)."""
    from ser_core.scoring.metrics import summarize_folds

    summary = summarize_folds(fold_metrics)
    return " | ".join(f"{name} {100 * summary[key]['mean']:.2f} ± {100 * summary[key]['std']:.2f}"
                      for name, key in (("acc", "accuracy"), ("UAR", "uar")))


def log_result(script, fold_metrics, *, log=RESULTS_LOG, **fields):
    """Append one result (fields, fold summary, per-fold accuracy/UAR/macro F1) to the JSONL log; return it."""
    from ser_core.scoring.metrics import summarize_folds

    record = {"script": script, **fields, "summary": summarize_folds(fold_metrics),
              "folds": [{key: fold[key] for key in ("accuracy", "uar", "macro_f1")} for fold in fold_metrics]}
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as handle:
        handle.write(json.dumps(record, default=float) + "\n")
    return record


def corpora_parser(doc) -> argparse.ArgumentParser:
    """The parser of a multi-corpus rule's script: ``--data`` (the corpora's manifest) and ``--out`` (its JSON)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the corpora's manifest (recipes.corpora.prepare)")
    parser.add_argument("--out", type=Path, required=True)
    return parser


def stopwatch_log():
    """A ``log(message)`` that prints each message after the seconds since this call, flushed."""
    started = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", flush=True)

    return log
