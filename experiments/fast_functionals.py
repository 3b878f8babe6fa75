"""Fill the feature cache for one experiment-only feature set and report its cost.

The sets are described in ``extra_features.py``.

Usage:
    nice -n 10 python experiments/fast_functionals.py [--features mfccstats] [--limit 4]
"""

import time

from common import argument_parser, corpus
from extra_features import EXTRA_FEATURES, extra_dataset


def main():
    """Compute (or load) one experiment-only feature set for every clip and report its cost."""
    parser = argument_parser(__doc__)
    parser.add_argument("--features", choices=sorted(EXTRA_FEATURES), default="fastfunc")
    args = parser.parse_args()
    index = corpus(args.data, limit=args.limit)
    start = time.perf_counter()
    dataset = extra_dataset(index, args.features)
    elapsed = time.perf_counter() - start
    print(f"{args.features}: {dataset.X.shape} in {elapsed:.1f}s ({1000 * elapsed / len(dataset.X):.1f} ms/clip, "
          "cached clips included)")


if __name__ == "__main__":
    main()
