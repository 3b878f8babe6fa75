"""Preloaded into the test's ``dask worker`` processes (``--preload``): every clip takes longer.

It gives ``test_distributed`` time to kill a worker while the job is running. Only the
test's workers load it; ser_core itself has no test hook.
"""

import time

DELAY_S = 0.15


def dask_setup(worker):
    from ser_core.features import corpus

    original = corpus._clip_features

    def slow_clip_features(*args, **kwargs):
        time.sleep(DELAY_S)
        return original(*args, **kwargs)

    corpus._clip_features = slow_clip_features
