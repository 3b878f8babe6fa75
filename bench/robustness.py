"""Do labels survive what the real world does to audio? Noise, rooms, telephones, codecs, gain, DC, resampling.

For each of ``--clips`` clips, the model's label on the clean clip is compared with its
label after each corruption (:mod:`ser_core.audio.corrupt`): the table gives the share
of labels unchanged and the accuracy against the true label, beside the clean accuracy.
Clips come from the RAVDESS actors in ``--data`` (spread evenly over actors and
emotions), or from a multi-corpus ``--manifest`` (columns path,label,speaker,corpus;
spread evenly over the corpora). With a manifest, clips whose label the model lacks are
left out and the model's choice is restricted to the labels the clips share with it.
Noise is added to the clip as loaded, silences included; its SNR is the speech's power
(from the first to the last frame within 20 dB of the loudest) over the noise's. Babble
is three other clips of the run (other speakers) played at once. Seeds are the clip's
position, so a run is repeatable.

Targets: labels unchanged on at least 90% of clips at 20 dB SNR and for the 8 kHz band
(issue 19); at least 95% for DC offsets and gain (issue 11). The shipped default was
trained on every RAVDESS clip of actors 01-20, so accuracy on them is accuracy on
training clips: quote it beside the unchanged share, not as a generalisation figure.

Usage:
    python bench/robustness.py                        # the default model, 120 RAVDESS clips
    python bench/robustness.py --model artifacts/compare-adaptive-lr --clips 200 --json
    python bench/robustness.py --manifest /work/corpora/all.csv --clips 120
    python bench/robustness.py --manifest /work/corpora/all.csv --speakers turev:6783  # a voice no member heard
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.audio import corrupt  # noqa: E402
from ser_core.modelfolder.read import default_model_dir, load_model  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
RATE = 16000
BABBLE_TALKERS = 3
#: SNRs are of the speech (the span within 20 dB of the loudest frame, as preprocessing trims) over the noise.
SPEECH_TOP_DB = 20.0


def _resampled(y, via):
    from ser_core.audio.dsp import resample

    return resample(resample(y, orig_sr=RATE, target_sr=via), orig_sr=via, target_sr=RATE)


def _noise(kind, snr_db):
    def apply(y, *, seed, talkers):
        return corrupt.add_noise(y, snr_db=snr_db, noise=kind, babble=talkers if kind == "babble" else None,
                                 speech_top_db=SPEECH_TOP_DB, random_state=seed)
    return apply


def _gain_unclipped(factor):
    def apply(y, **_):
        return corrupt.change_gain(y, factor=factor, clip=False) if np.max(np.abs(y)) * factor <= 1.0 else None
    return apply


#: name -> (function of the clean clip, a per-clip seed and babble talkers; None when it does not apply to that clip)
CONDITIONS = {
    "clean": lambda y, **_: y,
    **{f"{kind} noise {snr} dB SNR": _noise(kind, snr) for kind in ("white", "pink", "babble") for snr in (20, 10, 5)},
    "reverb RT60 0.3 s": lambda y, seed, **_: corrupt.reverberate(y, rt60_s=0.3, sample_rate=RATE, random_state=seed),
    "reverb RT60 0.8 s": lambda y, seed, **_: corrupt.reverberate(y, rt60_s=0.8, sample_rate=RATE, random_state=seed),
    "telephone band (8 kHz, 300-3400 Hz)": lambda y, **_: corrupt.telephone_band(y, sample_rate=RATE),
    "Opus 16 kbit/s": lambda y, **_: corrupt.codec_round_trip(y, sample_rate=RATE, codec="opus", bitrate_kbps=16),
    "MP3 24 kbit/s": lambda y, **_: corrupt.codec_round_trip(y, sample_rate=RATE, codec="mp3", bitrate_kbps=24),
    "gain x0.25": lambda y, **_: corrupt.change_gain(y, factor=0.25),
    "gain x2 (no clipping)": _gain_unclipped(2.0),
    "gain x2 (clipped at full scale)": lambda y, **_: corrupt.change_gain(y, factor=2.0, clip=True),
    "DC +0.01": lambda y, **_: y + np.float32(0.01),
    "DC -0.01": lambda y, **_: y - np.float32(0.01),
    "DC +0.05": lambda y, **_: y + np.float32(0.05),
    "DC -0.05": lambda y, **_: y - np.float32(0.05),
    "16 kHz -> 48 kHz -> 16 kHz": lambda y, **_: _resampled(y, 48000),
    "16 kHz -> 8 kHz -> 16 kHz": lambda y, **_: _resampled(y, 8000),
}


#: Conditions that issue 19 holds to 90% unchanged labels: 20 dB SNR and the 8 kHz band.
TARGET_90 = ("white noise 20 dB SNR", "pink noise 20 dB SNR", "babble noise 20 dB SNR",
             "telephone band (8 kHz, 300-3400 Hz)", "16 kHz -> 8 kHz -> 16 kHz")


def target_of(name):
    """The share of unchanged labels a condition must reach (None: reported only) and the issue that sets it."""
    if name in TARGET_90:
        return 0.90, "issue 19"
    if name.startswith(("DC", "gain")):
        return 0.95, "issue 11"
    return None, None


def pick_clips(*, data=None, manifest=None, n, labels, speakers=None):
    """``n`` clips as a table (path, label, speaker, corpus), spread evenly over each corpus's sorted clips.

    Corpora share ``n`` as evenly as they can; clips whose label is not in ``labels`` are left
    out, and with ``speakers`` so are clips of every other speaker.
    """
    from ser_core.data.index import index_corpus

    clips = index_corpus(manifest if manifest is not None else data).clips
    if speakers:
        clips = clips[clips["speaker"].astype(str).isin(speakers)]
        if clips.empty:
            raise SystemExit(f"no clips of {', '.join(speakers)} in {manifest if manifest is not None else data}")
    clips = clips[clips["label"].astype(str).isin(labels)].sort_values(["corpus", "path"]).reset_index(drop=True)
    corpora = sorted(clips["corpus"].astype(str).unique())
    if not corpora:
        raise SystemExit(f"no clips with a label the model knows ({', '.join(labels)})")
    chosen = []
    for i, name in enumerate(corpora):
        rows = clips.index[clips["corpus"].astype(str) == name]
        share = min(len(rows), n // len(corpora) + (i < n % len(corpora)))
        chosen.extend(rows[np.linspace(0, len(rows) - 1, share).round().astype(int)] if share else [])
    return clips.loc[chosen, ["path", "label", "speaker", "corpus"]].reset_index(drop=True)


def _talkers(audio, speakers, index):
    """Other speakers' clips for babble: the clips a quarter, half and three quarters of the list away."""
    n = len(audio)
    picks = [(index + n * k // (BABBLE_TALKERS + 1)) % n for k in range(1, BABBLE_TALKERS + 1)]
    return [audio[i] for i in picks if speakers[i] != speakers[index]] or [audio[(index + 1) % n]]


def run(model, clips, *, conditions=CONDITIONS, progress=None):
    """Per condition: share of labels unchanged vs clean, accuracy vs the true label, and the clips it applied to."""
    from ser_core.audio.decode import load_audio

    allowed = [i for i, label in enumerate(model.labels) if label in set(clips["label"].astype(str))]
    names = np.array(model.labels)[allowed]
    audio = [load_audio(path, sample_rate=RATE) for path in clips["path"]]
    speakers = clips["speaker"].astype(str).tolist()
    truth = clips["label"].astype(str).to_numpy()
    rows = {name: {} for name in conditions}  # condition -> {clip index: the model's features}
    for index, y in enumerate(audio):
        talkers = _talkers(audio, speakers, index)
        for name, perturb in conditions.items():
            shifted = perturb(y, seed=index, talkers=talkers)
            if shifted is not None:
                rows[name][index] = model.features(shifted, sample_rate=RATE)
        if progress is not None:
            progress(index + 1, len(audio))
    predicted = {}
    for name, features in rows.items():
        predicted[name] = [None] * len(audio)
        if features:
            probabilities = model.predict_proba(model.stack_features(list(features.values())))
            for index, row in zip(features, probabilities[:, allowed]):
                predicted[name][index] = names[int(np.argmax(row))]
    clean = predicted["clean"]
    results = {}
    for name, labels in predicted.items():
        applied = [i for i, label in enumerate(labels) if label is not None]
        target, source = target_of(name)
        unchanged = float(np.mean([labels[i] == clean[i] for i in applied])) if applied else None
        results[name] = {
            "unchanged": unchanged,
            "accuracy": float(np.mean([labels[i] == truth[i] for i in applied])) if applied else None,
            "clean_accuracy": float(np.mean([clean[i] == truth[i] for i in applied])) if applied else None,
            "clips": len(applied),
            "target": target,
            "target_source": source,
            "met": None if target is None or unchanged is None else bool(unchanged >= target),
        }
    return results


def print_table(report):
    """The report (as ``--json`` writes it) as a table with the targets marked."""
    corpora = ", ".join(f"{name} {count}" for name, count in report["corpora"].items())
    print(f"model {report['model']} ({report['describe']}); {report['clips']} clips from {report['source']} "
          f"({corpora}); {report['seconds']:.0f} s")
    if report.get("trained_on_these"):
        print("note: the model was trained on these clips: accuracy here is accuracy on training clips")
    print(f"{'condition':<38}{'labels unchanged':>17}{'accuracy':>10}{'clean acc.':>11}{'clips':>7}  target")
    for name, row in report["results"].items():
        mark = "" if row["target"] is None else (f">= {row['target']:.0%} ({row['target_source']}) "
                                                 + ("met" if row["met"] else "MISSED"))
        shares = [f"{row[key]:.1%}" if row[key] is not None else "-"
                  for key in ("unchanged", "accuracy", "clean_accuracy")]
        print(f"{name:<38}{shares[0]:>16}{shares[1]:>10}{shares[2]:>11}{row['clips']:>7}  {mark}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: artifacts/DEFAULT)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="a RAVDESS folder (default: ../shared/data/ravdess-16k)")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="a multi-corpus manifest (path,label,speaker,corpus), e.g. /work/corpora/all.csv")
    parser.add_argument("--speakers", nargs="+", default=None,
                        help="only these speakers' clips (as the manifest names them), e.g. turev:6783, the voice "
                             "the default's members never heard (its clips are the dashboard's examples)")
    parser.add_argument("--clips", type=int, default=120)
    parser.add_argument("--quick", action="store_true", help="only the conditions with the issue-19 targets")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    args = parser.parse_args()
    folder = args.model or default_model_dir()
    model = load_model(folder)
    clips = pick_clips(data=args.data, manifest=args.manifest, n=args.clips, labels=model.labels,
                       speakers=args.speakers)
    conditions = {name: CONDITIONS[name] for name in ("clean", *TARGET_90)} if args.quick else CONDITIONS
    started = time.perf_counter()
    results = run(model, clips, conditions=conditions,
                  progress=None if args.json else lambda done, total: print(f"\r{done}/{total} clips", end="",
                                                                             file=sys.stderr, flush=True))
    trained_on = (model.config.get("training") or {}).get("data")
    report = {
        "model": folder.name, "describe": model.describe(),
        "source": str(args.manifest if args.manifest is not None else args.data), "clips": len(clips),
        "corpora": {str(k): int(v) for k, v in clips["corpus"].value_counts().sort_index().items()},
        "trained_on_these": bool(args.manifest is None and trained_on
                                 and Path(trained_on).resolve() == args.data.resolve()),
        "seconds": round(time.perf_counter() - started, 1), "results": results,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(file=sys.stderr)
        print_table(report)


if __name__ == "__main__":
    main()
