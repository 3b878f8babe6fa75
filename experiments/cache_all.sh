#!/usr/bin/env bash
# Cache every experiment feature under $SER5_CACHE (default /tmp/ser5): one command, ~5-10 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/work/venv/bin/python}
nice -n 10 "$PY" experiments/cache_features.py --part compare --shard 0 --n-shards 2 &
nice -n 10 "$PY" experiments/cache_features.py --part compare --shard 1 --n-shards 2 &
wait
nice -n 10 "$PY" experiments/cache_features.py --part merge
nice -n 10 "$PY" experiments/cache_features.py --part cheap
nice -n 10 "$PY" experiments/fast_functionals.py
