"""Models on Dask workers: a model folder packed as bytes, loaded once per worker process.

Workers may not see the client's disk, so :func:`ship_model` sends the folder itself
(scattered once to every worker) and each task calls :meth:`ShippedModel.load`.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import shutil
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ser_core.errors import InputError
from ser_core.modelfolder.read import load_model

#: Loaded models a worker process keeps (the most recently shipped ones).
WORKER_MODELS = 4
_worker_models: dict[str, object] = {}
_worker_models_lock = threading.Lock()


@dataclass(frozen=True)
class ShippedModel:
    """A model folder packed as bytes, to send to workers that may not see the client's disk.

    :meth:`load` unpacks it and loads it once per worker process (keyed by the payload's
    digest), so every task after the first on a worker reuses the loaded model.
    """

    name: str
    digest: str
    payload: bytes = field(repr=False)

    @classmethod
    def pack(cls, folder) -> ShippedModel:
        """Pack a model folder (as written by :func:`ser_core.modelfolder.save.save_artifact`)."""
        folder = Path(folder)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
        payload = buffer.getvalue()
        return cls(name=folder.name, digest=hashlib.sha256(payload).hexdigest(), payload=payload)

    def load(self):
        """The loaded model (:func:`ser_core.modelfolder.read.load_model`), unpacked on the first call in this process."""
        with _worker_models_lock:
            model = _worker_models.get(self.digest)
            if model is None:
                root = tempfile.mkdtemp(prefix="ser-model-")
                atexit.register(shutil.rmtree, root, ignore_errors=True)
                folder = Path(root) / self.name
                with tarfile.open(fileobj=io.BytesIO(self.payload)) as archive:
                    # The "data" filter (Python 3.11.4+) refuses links and paths outside the folder.
                    archive.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
                # The client loaded this folder under its trust rule before packing it; load_model
                # still checks every file against the SHA-256 in config.json.
                model = _worker_models[self.digest] = load_model(folder, trust=True)
                while len(_worker_models) > WORKER_MODELS:
                    _worker_models.pop(next(iter(_worker_models)))
            return model


def ship_model(client, model):
    """Send a loaded model's folder to every worker once; return the future to pass to tasks."""
    folder = getattr(model, "path", None)
    if folder is None or not Path(folder).is_dir():
        raise InputError(f"{model!r} has no model folder to send to the cluster; expected a model from load_model()")
    return client.scatter(ShippedModel.pack(folder), broadcast=True, hash=False)
