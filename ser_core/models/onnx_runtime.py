"""A network exported to ONNX (:mod:`ser_core.models.onnx_export`), served by onnxruntime alone.

:class:`OnnxClassifier` has the estimator habits of every family (``classes_``,
``predict_proba``, ``predict``) and reads everything it needs (classes, input shape and
layout) from the graph's metadata, so ``model.onnx`` is enough. It imports neither
torch nor TensorFlow, nor the ``onnx`` package: only ``onnxruntime``.

Examples
--------
>>> model = OnnxClassifier.load("artifacts/logmel-cnn")  # doctest: +SKIP
>>> model.predict_proba(X).shape  # doctest: +SKIP
(1, 8)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ser_core.errors import InputError, ModelError
from ser_core.models.base import SERClassifier
from ser_core.models.keras_study import as_sequences

PREDICT_BATCH = 256


def onnxruntime_available() -> bool:
    """True when onnxruntime can be imported here."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


#: The file a model folder keeps its graph in.
ONNX_FILE = "model.onnx"
INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
#: How the runtime shapes features before the graph: clip vectors become (n, d, 1) sequences
#: for the Keras networks, (clips, mels, frames) stay as they are, clip vectors stay a matrix.
LAYOUTS = ("sequences", "spectrograms", "matrix")


class OnnxClassifier(SERClassifier):
    """Class probabilities from an exported graph (``model.onnx``).

    Parameters
    ----------
    threads : int, optional
        Threads onnxruntime uses inside one prediction (default: its own choice, the
        physical cores).
    """

    FITTED_ATTRIBUTE = "session_"

    def __init__(self, *, threads=None):
        self.threads = threads

    @classmethod
    def from_bytes(cls, data: bytes, *, threads=None, source="the ONNX graph"):
        """Open a serialised graph; ModelError naming ``source`` when onnxruntime cannot."""
        try:
            import onnxruntime
        except ImportError:
            raise ModelError(f"{source} needs onnxruntime, which is not installed (pip install onnxruntime)") from None
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.log_severity_level = 3
        # Idle threads sleep rather than spin: a server runs many sessions and an ensemble's
        # members side by side on a few cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        estimator = cls(threads=threads)
        try:
            session = onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
            metadata = {key: json.loads(value) for key, value in session.get_modelmeta().custom_metadata_map.items()}
            estimator.classes_ = np.asarray(metadata["classes"])
            estimator.input_shape_ = tuple(int(d) for d in metadata["input_shape"])
            estimator.layout_ = metadata["layout"]
            estimator.family_ = metadata.get("family", "")
            estimator.parameter_count_ = int(metadata.get("n_parameters", 0))
        except (KeyError, ValueError, TypeError) as error:
            raise ModelError(f"{source} lacks the metadata ser_core writes ({error}); re-export it") from None
        except Exception as error:  # onnxruntime raises its own types for a damaged graph
            raise ModelError(f"{source} could not be loaded by onnxruntime: {error}") from None
        if estimator.layout_ not in LAYOUTS:
            raise ModelError(f"{source} has input layout {estimator.layout_!r}; expected one of {LAYOUTS}")
        estimator.session_ = session
        estimator.graph_bytes_ = bytes(data)
        return estimator

    @classmethod
    def load(cls, folder, *, threads=None):
        """Load ``folder/model.onnx`` (or the file itself); ModelError when missing or unreadable."""
        path = Path(folder)
        if path.is_dir():
            path = path / ONNX_FILE
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ModelError(f"{path} could not be read: {error.strerror or error}") from None
        return cls.from_bytes(data, threads=threads, source=str(path))

    def _inputs(self, X):
        """``X`` as the graph's float32 input, checked against the exported shape."""
        if self.layout_ == "sequences":
            X = as_sequences(X)
        else:
            X = np.asarray(X, dtype=np.float32)
            if self.layout_ == "matrix" and X.ndim == 3:
                X = X.reshape(len(X), -1)
            expected = len(self.input_shape_) + 1
            if X.ndim != expected:
                raise InputError(f"features must be {expected}-D (clips, {'mels, frames' if expected == 3 else 'values'}), "
                                 f"got shape {X.shape}")
        if X.shape[1:] != self.input_shape_:
            raise InputError(f"features of shape {X.shape[1:]} per clip, but the model expects {self.input_shape_}")
        if not np.all(np.isfinite(X)):
            raise InputError("features contain NaN or infinity")
        return np.ascontiguousarray(X, dtype=np.float32)

    def predict_proba(self, X):
        """Class probabilities ``(clips, classes)``, columns in ``classes_`` order (float32)."""
        self._check_fitted()
        X = self._inputs(X)
        chunks = [self.session_.run([OUTPUT_NAME], {INPUT_NAME: X[start:start + PREDICT_BATCH]})[0]
                  for start in range(0, len(X), PREDICT_BATCH)]
        if not chunks:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)

    @property
    def n_parameters_(self):
        """The native network's parameter count, as its family counts it (recorded at export)."""
        self._check_fitted()
        return self.parameter_count_

    def save(self, folder):
        """Write the graph to ``folder/model.onnx``."""
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ONNX_FILE).write_bytes(self.graph_bytes_)
        return folder
