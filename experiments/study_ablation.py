"""Why does our CNN+LSTM fall short of the study's 63.89%? One setting at a time, on the study's random split.

Every variant is the study's CNN+LSTM on the 160-value ``MFCC-16000-40`` vector, trained
through the library (``ser_core.training.train.run_protocol``) on the study's stratified random
80/20 split (seed 42), changing one thing from round one's settings (cross-entropy, no
input scaling, Adam 1e-3, dropout 0.3, a 30-epoch cap, early stopping on 15% of the
training clips): the loss, input scaling, learning rate, dropout, the epoch cap, and
where early stopping looks. Writes ``results/study_ablation.md`` (and ``.json``).

Usage (about 15-30 minutes on 2 CPU cores; one background job):
    nice -n 10 python experiments/study_ablation.py
    nice -n 10 python experiments/study_ablation.py --model cnn --variants baseline,focal
    nice -n 10 python experiments/study_ablation.py --variants fit-150 --append   # add rows to the table
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.data.dataset import load_dataset  # noqa: E402
from ser_core.formatting import percent  # noqa: E402
from ser_core.reporting.study_figures import STUDY_RESULTS, SYSTEM_TITLES  # noqa: E402
from ser_core.training.config import TrainConfig  # noqa: E402
from ser_core.training.train import run_protocol  # noqa: E402
from recipes.study import STUDY_FEATURES

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
ROUND_ONE = dict(loss="crossentropy", learning_rate=1e-3, epochs=30, model_params={"dropout": 0.3})

#: name -> (what changes, the settings that differ from round one)
VARIANTS = {
    "baseline": ("round one's settings", {}),
    "focal": ("focal loss (alpha 0.25, gamma 2), as the study", {"loss": "focal"}),
    "scaled": ("inputs standardised per value (training clips' mean and std)",
               {"model_params": {"dropout": 0.3, "standardize": True}}),
    "lr3e-3": ("learning rate 3e-3", {"learning_rate": 3e-3}),
    "lr3e-4": ("learning rate 3e-4", {"learning_rate": 3e-4}),
    "dropout0.1": ("dropout 0.1", {"model_params": {"dropout": 0.1}}),
    "dropout0.5": ("dropout 0.5", {"model_params": {"dropout": 0.5}}),
    "converge": ("no 30-epoch cap: up to 300 epochs, early stopping decides", {"epochs": 300}),
    "converge-focal": ("up to 300 epochs with focal loss", {"epochs": 300, "loss": "focal"}),
    "as-written": ("the study as written: focal loss, 30 epochs, early stopping watching the test clips",
                   {"loss": "focal", "stop_on": "test"}),
    "as-written-converge": ("as written, without the 30-epoch cap", {"loss": "focal", "stop_on": "test", "epochs": 300}),
    "fit-150": ("150 epochs, no early stopping and no learning-rate cuts: can it fit its training clips at all?",
                {"epochs": 150, "model_params": {"dropout": 0.3, "patience": 1000, "lr_patience": 1000}}),
    "fit-150-no-dropout": ("the same without dropout", {"epochs": 150, "model_params": {"dropout": 0.0, "patience": 1000,
                                                                                         "lr_patience": 1000}}),
}


def run_variant(model, name, dataset, *, seed):
    """Train one variant; return its row (train and test accuracy, UAR, epochs, time)."""
    what, changes = VARIANTS[name]
    settings = {**ROUND_ONE, **changes}
    config = TrainConfig.from_dict({"model": model, "features": STUDY_FEATURES, "protocol": "random", "seed": seed,
                                    **settings})  # the flat settings of the study's rounds
    start = time.perf_counter()
    result, _ = next(iter(run_protocol(config, dataset).values()))
    fold = result.folds[0]
    history = result.histories[0] if result.histories else {}
    val = history.get("val_loss") or []
    best_epoch = int(min(range(len(val)), key=lambda i: val[i])) + 1 if val else None
    return {"variant": name, "what": what, "train_accuracy": fold["train_accuracy"], "accuracy": fold["accuracy"],
            "uar": fold["uar"], "macro_f1": fold["macro_f1"], "epochs_run": fold.get("epochs_run"),
            "best_epoch": best_epoch, "seconds": round(time.perf_counter() - start, 1)}


def markdown(model, rows):
    """The ablation table with the study's figures for reference."""
    study = STUDY_RESULTS[model]
    commands = list(dict.fromkeys(row["command"] for row in rows if row.get("command")))
    lines = [f"# Ablation: the study's {SYSTEM_TITLES[model]} on its random split", "",
             "Command" + ("s" if len(commands) > 1 else "") + ": " + "; ".join(f"`{c}`" for c in commands) + "  ",
             "Protocol: the study's stratified random 80/20 split (seed 42; speakers shared between training and "
             "test), features `MFCC-16000-40`, one run per row. Early stopping watches 15% of the training clips "
             "unless the row says otherwise.  ",
             f"The study reported {percent(study['train_accuracy'])} train / {percent(study['accuracy'], decimals=2)} "
             f"test accuracy (macro F1 {study['macro_f1']:.2f}).", "",
             "| variant | what changes | train acc | test acc | UAR | macro F1 | epochs run | best epoch (val loss) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['variant']} | {row['what']} | {percent(row['train_accuracy'])} | {percent(row['accuracy'])} "
                     f"| {percent(row['uar'])} | {row['macro_f1']:.2f} | {row['epochs_run']} | {row['best_epoch'] or '—'} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cnn_lstm", choices=("cnn_lstm", "cnn", "lstm"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("results/study_ablation.md"))
    parser.add_argument("--append", action="store_true", help="add the rows to those already in OUT's .json")
    args = parser.parse_args()
    dataset = load_dataset(args.data, feature_kind=STUDY_FEATURES)
    command = "python " + " ".join(sys.argv)
    previous = args.out.with_suffix(".json")
    rows = json.loads(previous.read_text()) if args.append and previous.is_file() else []
    for name in args.variants.split(","):
        rows.append({**run_variant(args.model, name, dataset, seed=args.seed), "command": command})
        row = rows[-1]
        print(f"{name}: train {row['train_accuracy']:.4f} test {row['accuracy']:.4f} uar {row['uar']:.4f} "
              f"epochs {row['epochs_run']} best {row['best_epoch']} ({row['seconds']} s)", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown(args.model, rows))
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
