"""Put the per-layer Whisper vectors of ``whisper_layers.py extract`` into the library's feature cache.

The vectors are the ones ``WHISPER-BASE-L<n>`` computes (same preprocessing, same NumPy
encoder): the script first recomputes ``--check`` clips through the library and refuses
to write anything if one differs by more than 1e-4. It spares a training run the hour of
encoder passes the experiments already made.

Usage::

    python experiments/prefill_whisper_cache.py --layer 3 /work/features/whisper_*.npz
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    from ser_core.audio.preprocess import PreprocessSettings, load_clip
    from ser_core.features import extract, parse_kind
    from ser_core.features.cache import FeatureCache
    from ser_core.features.corpus import settings_key

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--layer", type=int, required=True)
    parser.add_argument("--check", type=int, default=3, help="clips per file recomputed through the library")
    args = parser.parse_args()
    spec = parse_kind(f"WHISPER-BASE-L{args.layer}")
    settings = replace(PreprocessSettings(), sample_rate=spec.sample_rate)
    cache = FeatureCache()
    for file in args.files:
        data = np.load(file, allow_pickle=False)
        vectors, paths = data["layers"][:, args.layer], data["paths"]
        for row in np.linspace(0, len(paths) - 1, args.check).astype(int):
            mine = extract(load_clip(paths[row], settings=settings), spec=spec, sample_rate=spec.sample_rate)
            difference = float(np.max(np.abs(mine - vectors[row])))
            if difference > 1e-4:
                raise SystemExit(f"{paths[row]}: library and experiment differ by {difference:.2e}; nothing written")
        for path, vector in zip(paths, vectors):
            if np.all(np.isfinite(vector)):
                cache.save(cache.content_hash(path), vector.astype(np.float32), spec_key=spec.cache_key,
                           settings_key=settings_key(settings))
        cache.save_hashes()
        print(f"{file}: {len(paths)} clips cached as {spec.name}")


if __name__ == "__main__":
    main()
