"""CLI commands about models: ``train``, ``build-default``, ``evaluate``, ``compare`` and ``reproduce``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ser_core.cli import EXIT_OK, add_scheduler_argument
from ser_core.cli.data import DATA_HELP, add_corpus_arguments, index_from_args, print_notes
from ser_core.errors import InputError

_STUDY_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ravdess-16k"


def add_train_parser(subparsers) -> None:
    from ser_core.data.protocols import TRAINING_PROTOCOLS
    from ser_core.models.registry import MODEL_NAMES

    parser = subparsers.add_parser(
        "train", help="train a model under a protocol and save it as a model folder",
        description="Evaluate a model under a protocol (random split, grouped k-fold by speaker, held-out "
        "speakers, leave one corpus out of a manifest gathering several corpora, or another corpus), then fit it "
        "on all the data and save it with its metrics and model card. The corpus and the protocol's split are "
        "checked for leakage first (a warning; --strict-leakage stops).",
    )
    parser.add_argument("--data", required=True, help=DATA_HELP)
    add_corpus_arguments(parser)
    parser.add_argument("--model", required=True, choices=MODEL_NAMES, help="model name")
    parser.add_argument("--features", default=None, help="feature kind (default: the model's, e.g. MFCC-16000-40 "
                        "for the study's networks, LOGMEL-16000-64-300 for logmel_cnn)")
    parser.add_argument("--protocol", default="random", choices=TRAINING_PROTOCOLS,
                        help="random, kfold (by speaker), holdout (--test-speakers), loco (leave one corpus out: "
                        "a manifest with a corpus column; new-speaker k-fold over all clips is scored beside it) or "
                        "cross_corpus (--test-data)")
    parser.add_argument("--also", default="", help="more protocols to score, e.g. random (comma-separated)")
    parser.add_argument("--test-data", default=None, metavar="PATH",
                        help="the other corpus of the cross_corpus protocol (train on --data, test on this; read "
                        "with the same --corpus auto-detection, --labels-map and --allow-outside)")
    leakage = parser.add_mutually_exclusive_group()
    leakage.add_argument("--strict-leakage", action="store_true",
                         help="stop before training when the leakage check finds a leak")
    leakage.add_argument("--no-leakage-check", action="store_true", help="skip the leakage check")
    parser.add_argument("--folds", type=int, default=5, help="folds of the kfold protocol (default 5)")
    parser.add_argument("--test-speakers", "--test-actors", dest="test_speakers", default="",
                        help="held-out speakers, e.g. 1,2 (holdout protocol)")
    parser.add_argument("--loss", default="crossentropy", choices=("crossentropy", "focal"))
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the model's; study 30)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (default: the model's; study 36)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the model's; study 0.001)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--augment", default="", help="augmented copies of the training clips, e.g. "
                        "speed0.9,speed1.1, pitch-2,pitch2, noise10 (pink noise, dB SNR), whitenoise10, reverb0.4 (RT60 s), "
                        "telephone or opus-16k (codec, kbit/s) (default: none; never applied to test clips)")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write")
    add_scheduler_argument(parser, what="the feature extraction only (training stays on this machine)")
    parser.set_defaults(handler=run_train)


def print_leakage(record) -> None:
    """The training leakage check's leaks and warnings, on stderr."""
    seen = set()
    for finding in record.get("findings", []):
        if finding["severity"] == "note" or (finding["protocol"], finding["message"]) in seen:
            continue
        seen.add((finding["protocol"], finding["message"]))
        print(f"warning: leakage ({finding['protocol']}): {finding['message']}", file=sys.stderr, flush=True)
    if not record.get("ok", True) and record.get("mode") == "warn":
        print("warning: training goes on; --strict-leakage would stop here", file=sys.stderr, flush=True)


def print_progress(record) -> None:
    """One line per epoch and per finished fold; the leakage check's findings."""
    if record.get("stage") == "leakage check":
        print_leakage(record)
        return
    if record.get("stage") == "fold done":
        print(f"[{record['protocol']} fold {record['fold']}/{record['n_folds']}] test accuracy "
              f"{record['test_accuracy']:.4f}, UAR {record['test_uar']:.4f}", flush=True)
    if "loss" not in record:
        return
    validation = (f" val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:.4f}"
                  if record.get("val_loss") is not None else "")
    print(f"[{record.get('protocol')} fold {record.get('fold')}/{record.get('n_folds')}] epoch {record['epoch']}: "
          f"loss {record['loss']:.4f} acc {record['accuracy']:.4f}{validation} lr {record['lr']:.2e}", flush=True)


def _split(text: str) -> tuple:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def config_from_args(args):
    """The :class:`~ser_core.training.config.TrainConfig` of ``train``'s arguments."""
    from ser_core.data.layouts import as_label_map
    from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig

    return TrainConfig(
        model=args.model, seed=args.seed,
        data=DataSettings(features=args.features, augment=_split(args.augment), label_map=as_label_map(args.labels_map)),
        protocol=ProtocolSettings(args.protocol, also=_split(args.also), n_folds=args.folds,
                                  test_speakers=_split(args.test_speakers), test_data=args.test_data or "",
                                  leakage="stop" if args.strict_leakage else "off" if args.no_leakage_check else "warn"),
        fit=FitSettings(loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr),
    )


def print_figures(metrics) -> None:
    """Each protocol's accuracy and UAR; what a cross-corpus test compared; a table per corpus left out."""
    from ser_core.formatting import number, percent, percent_spread
    from ser_core.scoring.crosscorpus import describe

    for protocol in metrics.ordered():
        print(f"{protocol.title}: accuracy {percent_spread(protocol.mean('accuracy'), protocol.std('accuracy'))}, "
              f"UAR {percent_spread(protocol.mean('uar'), protocol.std('uar'))}, "
              f"macro F1 {number(protocol.mean('macro_f1'), decimals=3)}")
        if protocol.protocol == "cross_corpus":
            print(f"  {describe(protocol.pooled)}")
        for row in protocol.per_corpus:
            print(f"  {row['corpus']:<12} {number(row['n_test_clips'], decimals=0):>6} clips  accuracy "
                  f"{percent(row['accuracy']):>7}  UAR {percent(row['uar']):>7}  macro F1 "
                  f"{number(row['macro_f1'], decimals=3)}  (shared: {', '.join(row['shared_labels'])})")


def run_train(args) -> int:
    from ser_core.training.train import save_result, train

    config = config_from_args(args)
    data = index_from_args(args, args.data)
    print_notes(data)
    test_data = None
    if config.protocol.test_data:
        test_data = index_from_args(args, config.protocol.test_data)
        print_notes(test_data)
    result = train(config, data=data, test_data=test_data, progress=print_progress)
    result.training["command"] = args.command_line
    folder = save_result(result, args.out)
    print_figures(result.metrics)
    for skipped in result.training.get("skipped_clips", []):
        print(f"skipped {skipped['path']}: {skipped['reason']}", file=sys.stderr)
    print(f"saved {folder}")
    return EXIT_OK


def add_build_default_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "build-default", help="train the shipped default model (its members and the ensemble)",
        description="Train the default's Whisper member on several corpora (a manifest laid out by "
        "python -m recipes.corpora.prepare) under leave-one-corpus-out and 5-fold by speaker, combine it with the "
        "RAVDESS log-mel CNN, save the ensemble and make it the default (recipes/multicorpus.py; about 15 minutes "
        "on 2 CPU cores with the corpora's features cached). --ravdess-only rebuilds round two's RAVDESS ensemble "
        "and its members (recipes/default.py; about two hours from scratch).",
    )
    parser.add_argument("--data", default=None,
                        help=f"manifest of several corpora (e.g. /work/corpora/all.csv); with --ravdess-only a RAVDESS "
                        f"folder (default {_STUDY_DATA})")
    parser.add_argument("--ravdess-only", action="store_true",
                        help="rebuild round two's RAVDESS-only ensemble (log-mel CNN + ComParE) and its members")
    parser.add_argument("--root", type=Path, default=None, help="models folder (default: artifacts/)")
    parser.add_argument("--retrain", action="store_true", help="train every member even if an up-to-date one exists")
    parser.add_argument("--no-default", action="store_true", help="do not point artifacts/DEFAULT at the ensemble")
    parser.set_defaults(handler=run_build_default)


def run_build_default(args) -> int:
    if args.ravdess_only:
        from recipes.default import build_default
    else:
        from recipes.multicorpus import build_default
    if args.data is None and not args.ravdess_only:
        raise InputError("build-default needs --data: a manifest of several corpora (python -m recipes.corpora.prepare "
                         "lays one out as /work/corpora/all.csv)")
    folder = build_default(args.data or str(_STUDY_DATA), root=args.root, reuse=not args.retrain,
                           set_default=not args.no_default, command=args.command_line,
                           log=lambda line: print(line, flush=True))
    print(f"saved {folder}")
    return EXIT_OK


def add_evaluate_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a model folder on a corpus",
        description="Classify every clip of a corpus with a saved model and print accuracy, UAR, "
        "macro F1, the classification report and the confusion matrix (rows = true labels).",
    )
    parser.add_argument("--model", required=True, type=Path, help="model folder")
    parser.add_argument("--data", required=True, help=DATA_HELP)
    add_corpus_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trust", action="store_true", help="allow pickled weights from outside artifacts/")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from ser_core.modelfolder.read import load_model
    from ser_core.scoring.crosscorpus import describe
    from ser_core.scoring.crosscorpus import evaluate_model
    from ser_core.scoring.metrics import format_report

    model = load_model(args.model, trust=args.trust)
    data = index_from_args(args, args.data)
    print_notes(data)
    metrics = evaluate_model(model, data)
    if args.json:
        keys = ("accuracy", "uar", "macro_f1", "labels", "confusion", "per_class", "n_clips",
                "best_emotion", "worst_emotion", "ranked_by", "shared_labels", "left_out", "n_left_out",
                "model_only_labels", "unrestricted_accuracy", "n_outside", "model", "data", "corpus")
        print(json.dumps({key: metrics[key] for key in keys if key in metrics}))
    else:
        print(f"{model.name} on {metrics['corpus']}: {describe(metrics)}.\n")
        print(format_report(metrics))
        print("\nconfusion (rows = true, columns = predicted): " + " ".join(metrics["labels"]))
        for label, row in zip(metrics["labels"], metrics["confusion"]):
            print(f"{label:<12}" + "".join(f"{count:>6d}" for count in row))
    return EXIT_OK


def add_compare_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare every saved model", description="The comparison table over all model folders."
    )
    parser.add_argument("--root", type=Path, default=None, help="folder of model folders (default: artifacts/)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(handler=run_compare)


def run_compare(args) -> int:
    from ser_core.formatting import number, percent_spread
    from ser_core.modelfolder.read import ArtifactError, default_model_dir, list_artifacts
    from ser_core.reporting.comparison import comparison_rows

    try:
        default = default_model_dir(args.root).name
    except ArtifactError:
        default = None
    rows = comparison_rows(list_artifacts(args.root), default_name=default)
    if args.json:
        print(json.dumps(rows))
        return EXIT_OK
    print(f"{'model folder':<24}{'protocol':<46}{'accuracy':>15}{'UAR':>15}{'macro F1':>10}{'labels':>7}"
          f"{'params':>11}{'MB':>6}{'ms/3s':>8}")
    within = [row for row in rows if not row.get("cross_corpus")]
    cross = [row for row in rows if row.get("cross_corpus")]
    for row in within:
        name = row["name"] + (" *" if row["default"] else "")
        if row.get("error"):
            print(f"{name:<24}error: {row['error']}")
            continue
        print(f"{name:<24}{row['protocol_title']:<46}{percent_spread(row['accuracy'], row['accuracy_std']):>15}"
              f"{percent_spread(row['uar'], row['uar_std']):>15}{number(row['macro_f1'], decimals=3):>10}"
              f"{number(row['n_labels'], decimals=0):>7}{number(row['n_parameters'], decimals=0):>11}"
              f"{number(row['size_mb']):>6}{number(row['latency_ms']):>8}")
    if cross:
        print("\ntested on corpora it was not trained on (shared labels only; not comparable with the figures above)")
        for row in cross:
            name = row["name"] + (" *" if row["default"] else "")
            print(f"{name:<24}{row['protocol_title']:<46}{percent_spread(row['accuracy'], row['accuracy_std']):>15}"
                  f"{percent_spread(row['uar'], row['uar_std']):>15}{number(row['macro_f1'], decimals=3):>10}"
                  f"  shared: {row['shared_labels']}; left out: {row['n_left_out']} clips")
            for corpus in row.get("per_corpus") or []:
                print(f"{'':<24}  {corpus['corpus']:<44}{percent_spread(corpus['accuracy'], None):>15}"
                      f"{percent_spread(corpus['uar'], None):>15}{number(corpus['macro_f1'], decimals=3):>10}")
    if default:
        print("\n* the default model")
    return EXIT_OK


def add_reproduce_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="reproduce the study's four systems and write results/study.md",
        description="Train and evaluate LSTM, CNN, CNN+LSTM (MFCC-16000-40) and Wav2Vec2 + RF as the study "
        "ran them (early stopping on its test set) and cleanly (validation from training clips, to "
        "convergence, and speaker-independent 5-fold); write the results table.",
    )
    parser.add_argument("--data", default=str(_STUDY_DATA), help=f"RAVDESS folder (default {_STUDY_DATA})")
    parser.add_argument("--out", type=Path, default=Path("results/study.md"), help="Markdown file to write")
    parser.add_argument("--quick", action="store_true", help="2 epochs and 2 folds: a smoke test")
    parser.add_argument("--ship", action="store_true", help="also save the converged Keras models into artifacts/study-*")
    parser.add_argument("--artifacts", type=Path, default=None, help="where --ship saves (default: artifacts/)")
    parser.add_argument("--wav2vec2", default=None, help="local Wav2Vec2 model folder (default: the hub's wav2vec2-base)")
    parser.add_argument("--loss", default="focal", choices=("focal", "crossentropy"), help="training loss (study: focal)")
    parser.add_argument("--seed", type=int, default=42)
    add_scheduler_argument(parser, what="the feature extraction only (training stays on this machine)")
    parser.set_defaults(handler=run_reproduce)


def run_reproduce(args) -> int:
    from recipes.study import reproduce_study

    results = reproduce_study(
        args.data, out=args.out, quick=args.quick, ship=args.ship, artifacts_root=args.artifacts,
        wav2vec2=args.wav2vec2, seed=args.seed, loss=args.loss, command=args.command_line,
        log=lambda line: print(line, flush=True),
    )
    for system, reason in results["not_run"].items():
        print(f"{system} not run: {reason}")
    return EXIT_OK


def add_report_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="write the stakeholder report (one HTML file, optionally a PDF)",
        description="One self-contained HTML page (charts included, no network needed): the corpus, every model "
        "with its protocols in plain words, the best model's confusion matrix, accuracy against latency and the "
        "study's figures beside ours. --pdf also prints it with headless Chromium.",
    )
    parser.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write (default report.html)")
    parser.add_argument("--pdf", type=Path, default=None, help="also write this PDF (needs Chromium)")
    parser.add_argument("--root", type=Path, default=None, help="models folder (default: artifacts/)")
    parser.add_argument("--data", default=None, help="corpus to summarise (folder or zip; optional)")
    parser.set_defaults(handler=run_report)


def run_report(args) -> int:
    from ser_core import atomic
    from ser_core.reporting.report import build_report, html_to_pdf

    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out, build_report(root=args.root, data=args.data))
    print(f"wrote {args.out}")
    if args.pdf is not None:
        print(f"wrote {html_to_pdf(args.out, args.pdf)}")
    return EXIT_OK


PARSERS = (add_train_parser, add_build_default_parser, add_evaluate_parser, add_compare_parser, add_report_parser,
           add_reproduce_parser)
