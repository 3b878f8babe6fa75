"""Fast baselines on clip-level features: scaler + linear/SVM classifiers.

Features: short names (study160, egemaps, compare), library kinds (e.g. MFCC-16000-13) or
experiment-only sets (fastfunc, mfccstats), joined with "+" to stack them side by side.
Folds: the library's grouped 5-fold by actor (``--protocol grouped``) or the study's
random 80/20 split (``--protocol random``).

Usage:
    nice -n 10 python experiments/baselines.py --features egemaps compare --models lr svm_rbf
    nice -n 10 python experiments/baselines.py --features compare --models lr --protocol random
    nice -n 10 python experiments/baselines.py --features compare --models lr --speaker-adapt

Each result is printed and appended as one JSON line to common.RESULTS_LOG.
"""

import time

from common import argument_parser, folds, load, log_result, result_text, score

MODELS = ("lr", "lr_c1", "lr_c001", "svm_rbf", "svm_lin", "ridge")


def make_model(name):
    """A scikit-learn pipeline for one classifier name, fixed hyperparameters."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    models = {
        "lr": lambda: LogisticRegression(C=0.1, max_iter=3000),
        "lr_c1": lambda: LogisticRegression(C=1.0, max_iter=3000),
        "lr_c001": lambda: LogisticRegression(C=0.01, max_iter=3000),
        "svm_rbf": lambda: SVC(C=10.0, gamma="scale"),
        "svm_lin": lambda: LinearSVC(C=0.001, max_iter=20000),
        "ridge": lambda: RidgeClassifier(alpha=1000.0),
    }
    return make_pipeline(StandardScaler(), models[name]())


def run(dataset, model_name, *, protocol, speaker_adapt, seed):
    """Per-fold metrics of one model on one dataset under a protocol."""
    from ser_core.data.splits import random_split
    from ser_core.models.speaker_stats import SpeakerNormalizer

    X = dataset.X
    if speaker_adapt:
        # Statistics from each actor's own (unlabelled) clips: test actors never see labels.
        X = SpeakerNormalizer().fit_transform(X, dataset.speakers)
    splits = folds(dataset, seed=seed) if protocol == "grouped" else [random_split(dataset.labels, seed=seed)]
    return [score(dataset, test, make_model(model_name).fit(X[train], dataset.labels[train]).predict(X[test]))
            for train, test in splits]


def main():
    """Run the grid given on the command line."""
    parser = argument_parser(__doc__)
    parser.add_argument("--features", nargs="+", required=True)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["lr"])
    parser.add_argument("--protocol", choices=["grouped", "random"], default="grouped")
    parser.add_argument("--speaker-adapt", action="store_true")
    args = parser.parse_args()
    for features in args.features:
        dataset = load(features, data=args.data, limit=args.limit)
        for model_name in args.models:
            start = time.perf_counter()
            fold_metrics = run(dataset, model_name, protocol=args.protocol, speaker_adapt=args.speaker_adapt, seed=args.seed)
            train_s = round(time.perf_counter() - start, 1)
            print(f"{features:28s} {model_name:8s} {args.protocol:7s} adapt={args.speaker_adapt!s:5s} "
                  f"{result_text(fold_metrics)}  ({train_s}s)", flush=True)
            log_result("baselines", fold_metrics, features=features, model=model_name, protocol=args.protocol,
                       speaker_adapt=args.speaker_adapt, seed=args.seed, limit=args.limit, n_clips=len(dataset.X),
                       train_s=train_s)


if __name__ == "__main__":
    main()
