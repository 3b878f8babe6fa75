"""A native network run in a child process, so its framework never enters the caller's.

A model folder without an ONNX export (saved before exports existed, or where the export
failed its check) still needs torch or TensorFlow. Holding both in one process aborted it
(``malloc(): invalid size``, issue 20), and a server must not import either for one
visitor's pick, so :class:`IsolatedEstimator` loads the estimator in a child interpreter
(``python -m ser_core.models.isolated <model> <folder>``) and sends it features over a
pipe as ``.npy`` arrays (no pickle). A child that dies is a :class:`ModelError` for that
call and is restarted on the next one; the server process lives on.

Examples
--------
>>> model = IsolatedEstimator("cnn", "artifacts/study-cnn")  # doctest: +SKIP
>>> model.predict_proba(X).shape  # doctest: +SKIP
(1, 8)
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import weakref
from pathlib import Path

import numpy as np

from ser_core.errors import InputError, ModelError

_HEADER = struct.Struct("<cQ")
#: Frame kinds: an array, a JSON object, an error (JSON with type and message).
ARRAY, INFO, ERROR = b"A", b"J", b"E"
#: Seconds a child may take to import its framework and load the weights.
START_TIMEOUT_S = 180


def _write_frame(stream, kind: bytes, payload: bytes) -> None:
    stream.write(_HEADER.pack(kind, len(payload)))
    stream.write(payload)
    stream.flush()


def _read_frame(stream):
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the stream ended")
    kind, size = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the stream ended inside a frame")
    return kind, payload


def _array_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _bytes_array(payload: bytes):
    return np.load(io.BytesIO(payload), allow_pickle=False)


def _stop(process, stderr_file):
    """Close a child's input (it exits on end of input), wait briefly, then kill it."""
    if process.poll() is None:
        try:
            process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except OSError:
            pass
    stderr_file.close()


class IsolatedEstimator:
    """A fitted estimator of registry model ``name``, loaded from ``folder`` in a child process.

    It has what serving uses: ``classes_``, ``n_parameters_``, ``predict_proba`` and
    ``predict``. Calls from several threads take turns on the one child.
    """

    def __init__(self, name: str, folder, *, settings=None):
        import importlib.util

        from ser_core.models.registry import model_family

        framework = model_family(name)  # "keras" or "torch": the module the child imports
        if importlib.util.find_spec(framework) is None:
            raise ModelError(f"{folder} has no ONNX export and its {name} network needs {framework}, which is not "
                             "installed here (requirements-train.txt adds it); or add the export where it is "
                             "installed: ser_core.modelfolder.export.add_export(folder)")
        self.name = name
        self.folder = Path(folder)
        self.settings = settings
        self._lock = threading.Lock()
        self._process = None
        self._finalizer = None
        info = self._start()
        self.classes_ = np.asarray(info["classes"])
        self.n_parameters_ = int(info.get("n_parameters") or 0)

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, {str(self.folder)!r})"

    def _start(self) -> dict:
        """Start the child and return what it reports once the estimator is loaded."""
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        stderr_file = tempfile.TemporaryFile()
        command = [sys.executable, "-m", "ser_core.models.isolated", self.name, str(self.folder),
                   json.dumps(self.settings or {})]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr_file, env=env)
        self._process, self._stderr = process, stderr_file
        self._finalizer = weakref.finalize(self, _stop, process, stderr_file)
        timer = threading.Timer(START_TIMEOUT_S, process.kill)
        timer.start()
        try:
            kind, payload = self._receive()
        finally:
            timer.cancel()
        if kind != INFO:
            self.close()
            self._fail(kind, payload)
        return json.loads(payload)

    def _receive(self):
        try:
            return _read_frame(self._process.stdout)
        except (EOFError, OSError):
            code = self._process.wait()
            self._finalizer()
            self._process = None
            raise ModelError(f"the process serving {self.folder} ended (exit {code}): {self._stderr_tail()}") from None

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [line for line in self._stderr.read().decode("utf-8", "replace").splitlines() if line.strip()]
        except (OSError, ValueError):
            return "no message"
        return " | ".join(lines[-3:]) or "no message"

    @staticmethod
    def _fail(kind, payload):
        if kind == ERROR:
            error = json.loads(payload)
            cls = InputError if error.get("input") else ModelError
            raise cls(error["message"])
        raise ModelError(f"unexpected reply of kind {kind!r} from a model process")

    def predict_proba(self, X):
        """Class probabilities ``(clips, classes)`` computed by the child, in ``classes_`` order."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            try:
                _write_frame(self._process.stdin, ARRAY, _array_bytes(X))
            except OSError:
                pass  # the child died; _receive says how
            kind, payload = self._receive()
        if kind != ARRAY:
            self._fail(kind, payload)
        return _bytes_array(payload)

    def predict(self, X):
        """The most likely label per clip."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def close(self):
        """Stop the child now (it also stops when this object is collected or the process exits)."""
        if self._finalizer is not None:
            self._finalizer()
        self._process = None


def serve(name: str, folder: str, settings: dict, *, stdin=None, stdout=None) -> int:
    """The child's loop: load the estimator, report it, then answer each features array until end of input."""
    from ser_core.errors import SERError
    from ser_core.models.registry import load_estimator

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    try:
        estimator = load_estimator(name, folder, settings=settings or None)
        info = {"classes": [str(c) for c in estimator.classes_],
                "n_parameters": int(getattr(estimator, "n_parameters_", 0) or 0)}
    except Exception as error:  # report any failure to load, then stop
        _write_frame(stdout, ERROR, json.dumps({"message": str(error)}).encode())
        return 1
    _write_frame(stdout, INFO, json.dumps(info).encode())
    while True:
        try:
            _, payload = _read_frame(stdin)
        except EOFError:
            return 0
        try:
            _write_frame(stdout, ARRAY, _array_bytes(np.asarray(estimator.predict_proba(_bytes_array(payload)),
                                                                dtype=np.float32)))
        except (SERError, ValueError) as error:
            _write_frame(stdout, ERROR, json.dumps({"message": str(error), "input": isinstance(error, ValueError)})
                         .encode())


if __name__ == "__main__":
    # stdout carries frames only: anything a framework prints goes to stderr.
    frames = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.exit(serve(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), stdout=frames))
