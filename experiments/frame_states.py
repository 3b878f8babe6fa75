"""Whisper-base layer-3 states of every training clip, frame by frame, for the tenth rule (results/frame_head.md).

The shipped Whisper heads see each clip as the mean and standard deviation over time of the
encoder's layer-3 states. A head that reads the states themselves needs them stored: this
writes one float16 ``(n_states, 512)`` array per clip of the corpora's training manifest, in
the rows' order of ``load_dataset`` (the members' preprocessing, no augmentation), as one
flat array plus offsets. Resumable: clips already written (``--out`` + ``.part``) are kept.
``--augment KEY`` stores the states of each clip's copy instead (``ser_core.audio.augment``, e.g.
``whitenoise20``: the noise-trained head's copies), in the same rows' order.

Usage::

    nice -n 10 python experiments/frame_states.py --data /work/corpora/all.csv --out /work/features/l3_frames.npz
    nice -n 10 python experiments/frame_states.py --data /work/corpora/all.csv --augment whitenoise20 \\
        --out /work/features/l3_frames_whitenoise20.npz
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LAYER = 3
FLUSH_EVERY = 500


def training_rows(data: Path):
    """The training manifest's dataset as the Whisper members load it (paths, labels, corpora, speakers)."""
    from recipes import multicorpus as mc
    from ser_core.data.dataset import load_dataset

    return load_dataset(mc.training_manifest(data), feature_kind=mc.CLEAN_WHISPER_MEMBER.config.data.features)


def clip_states(path: str, settings, augmentation=None) -> np.ndarray:
    """Layer-3 states ``(n_states, 512)`` of one clip (or its copy), preprocessed as the members preprocess it."""
    from ser_core.audio.preprocess import load_clip
    from ser_core.features.whisper import hidden_states

    y = load_clip(path, settings=settings)
    if augmentation is not None:
        y = augmentation(y, sample_rate=settings.sample_rate)
    return hidden_states(y, sample_rate=settings.sample_rate, up_to=LAYER)[LAYER].astype(np.float16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--augment", default=None, help="an augmentation key: store its copies' states")
    args = parser.parse_args()
    from ser_core.audio.augment import parse_augmentation

    augmentation = parse_augmentation(args.augment) if args.augment else None
    dataset = training_rows(args.data)
    part = args.out.with_suffix(".part.npz")
    states, lengths = [], []
    if part.exists():
        with np.load(part) as saved:
            lengths = list(saved["lengths"])
            flat = saved["states"]
        states = np.split(flat, np.cumsum(lengths)[:-1]) if lengths else []
    started, first = time.perf_counter(), len(lengths)
    for row in range(len(lengths), len(dataset.paths)):
        array = clip_states(dataset.paths[row], dataset.settings, augmentation)
        states.append(array)
        lengths.append(len(array))
        if (row + 1) % FLUSH_EVERY == 0:
            np.savez(part, states=np.concatenate(states), lengths=np.array(lengths))
            rate = (time.perf_counter() - started) / (row + 1 - first)
            print(f"{row + 1}/{len(dataset.paths)} clips, {rate * 1000:.0f} ms each", flush=True)
    np.savez(args.out, states=np.concatenate(states), lengths=np.array(lengths),
             paths=np.array(dataset.paths), labels=dataset.labels, corpora=dataset.corpora,
             speakers=dataset.speakers, pooled=dataset.X)
    part.unlink(missing_ok=True)
    print(f"wrote {args.out}: {len(lengths)} clips, {sum(lengths)} states", flush=True)


if __name__ == "__main__":
    main()
