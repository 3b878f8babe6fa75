"""Fitted scikit-learn estimators as plain arrays and JSON, loaded back without pickle.

A pickle runs code when it is loaded, so a pickled model can only come from a folder the
server trusts, and a visitor's own model (saved in their scratch folder) could not be used.
:func:`save_state` writes an allow-listed estimator (a pipeline of a scaler and a logistic
regression, SVM, random forest or MLP) as its constructor settings and fitted attributes:
numbers, strings and lists in ``<name>.json``, every array in ``<name>.npz`` (numeric or
text arrays only, read with ``allow_pickle=False``). :func:`load_state` builds a new
instance of the same class and sets the same attributes, so the same scikit-learn code
predicts and the probabilities are identical. Only the classes of :data:`ALLOWED` are
built, and the arrays that compiled code indexes (tree nodes, support vectors) are checked
first, so a tampered file gives a :class:`~ser_core.errors.ModelError`, never a crash.

Examples
--------
>>> save_state(pipeline, folder / "sklearn_pipeline")  # doctest: +SKIP
>>> load_state(folder / "sklearn_pipeline").predict_proba(X)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ser_core.errors import ModelError

#: Format of the JSON file (bumped when the encoding changes).
STATE_VERSION = 1
#: Attributes kept only to go on training (optimiser state, random generator): not saved.
TRAINING_ONLY = ("_optimizer", "_random_state")


def _allowed() -> dict[str, type]:
    """The classes a state file may name, by name (imported when a state is written or read)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelBinarizer, StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    classes = (Pipeline, StandardScaler, LogisticRegression, SVC, RandomForestClassifier, DecisionTreeClassifier,
               MLPClassifier, LabelBinarizer)
    return {cls.__name__: cls for cls in classes}


#: The estimator classes :func:`load_state` builds (names of scikit-learn's public classes).
ALLOWED = ("Pipeline", "StandardScaler", "LogisticRegression", "SVC", "RandomForestClassifier",
           "DecisionTreeClassifier", "MLPClassifier", "LabelBinarizer")


class _Writer:
    """Turns an estimator into JSON-ready nodes, collecting its arrays."""

    def __init__(self, allowed: dict[str, type]):
        self.allowed = allowed
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray) -> dict:
        node = {"__array__": f"a{len(self.arrays)}"}
        if value.dtype.hasobject:
            if not all(isinstance(item, str) for item in value.ravel()):
                raise ModelError("an array of Python objects other than text cannot be saved without pickle")
            value, node["object"] = value.astype(str), True
        self.arrays[node["__array__"]] = value
        return node

    def node(self, value, where: str):
        from sklearn.tree._tree import Tree

        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            if value.dtype.kind not in "biuf":
                raise ModelError(f"{where} is a NumPy {value.dtype} scalar; only numbers can be saved")
            return {"__scalar__": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, tuple):
            return {"__tuple__": [self.node(item, f"{where}[{i}]") for i, item in enumerate(value)]}
        if isinstance(value, list):
            return [self.node(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise ModelError(f"{where} is a dict with keys that are not text; it cannot be saved as JSON")
            return {"__dict__": {key: self.node(item, f"{where}.{key}") for key, item in value.items()}}
        if isinstance(value, Tree):
            state = value.__getstate__()
            return {"__tree__": {"n_features": int(value.n_features), "n_outputs": int(value.n_outputs),
                                 "n_classes": self.array(np.asarray(value.n_classes)),
                                 "max_depth": int(state["max_depth"]), "node_count": int(state["node_count"]),
                                 "nodes": self.array(state["nodes"]), "values": self.array(state["values"])}}
        name = type(value).__name__
        if self.allowed.get(name) is type(value):
            return {"__estimator__": name,
                    "state": {key: self.node(item, f"{where}.{key}") for key, item in vars(value).items()
                              if key not in TRAINING_ONLY}}
        raise ModelError(f"{where} is a {type(value).__module__}.{name}, which cannot be saved without pickle "
                         f"(allowed: {', '.join(ALLOWED)})")


def save_state(estimator, path) -> list[Path]:
    """Write a fitted allow-listed estimator as ``path.json`` and ``path.npz``; return the two files.

    Raises
    ------
    ModelError
        The estimator holds something that is neither an allowed estimator, a number, text nor a plain array.
    """
    path = Path(path)
    writer = _Writer(_allowed())
    state = {"format": STATE_VERSION, "estimator": writer.node(estimator, type(estimator).__name__)}
    json_file, arrays_file = path.with_suffix(".json"), path.with_suffix(".npz")
    json_file.write_text(json.dumps(state, indent=1) + "\n")
    np.savez_compressed(arrays_file, **writer.arrays)
    return [json_file, arrays_file]


class _Reader:
    """Rebuilds an estimator from JSON nodes and the arrays they name."""

    def __init__(self, arrays, allowed: dict[str, type]):
        self.arrays = arrays
        self.allowed = allowed

    def array(self, node: dict) -> np.ndarray:
        value = self.arrays[node["__array__"]]
        return value.astype(object) if node.get("object") else value

    def node(self, node):
        if isinstance(node, list):
            return [self.node(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "__array__" in node:
            return self.array(node)
        if "__scalar__" in node:
            dtype = np.dtype(node["__scalar__"])
            if dtype.kind not in "biuf":
                raise ModelError(f"a saved scalar has type {dtype}; expected a number")
            return dtype.type(node["value"])
        if "__tuple__" in node:
            return tuple(self.node(item) for item in node["__tuple__"])
        if "__dict__" in node:
            return {key: self.node(item) for key, item in node["__dict__"].items()}
        if "__tree__" in node:
            return self.tree(node["__tree__"])
        if "__estimator__" in node:
            cls = self.allowed.get(node["__estimator__"])
            if cls is None:
                raise ModelError(f"the saved model names class {node['__estimator__']!r}, which is not allowed "
                                 f"(allowed: {', '.join(ALLOWED)})")
            estimator = cls.__new__(cls)
            estimator.__dict__.update({key: self.node(item) for key, item in node["state"].items()})
            _check_estimator(estimator)
            return estimator
        raise ModelError(f"the saved model holds an unknown entry with keys {sorted(node)}")

    def tree(self, node: dict):
        from sklearn.tree._tree import Tree

        nodes, values = self.array(node["nodes"]), self.array(node["values"])
        n_features, node_count = int(node["n_features"]), int(node["node_count"])
        n_classes = self.array(node["n_classes"]).astype(np.intp)
        _check_tree_nodes(nodes, node_count=node_count, n_features=n_features)
        tree = Tree(n_features, n_classes, int(node["n_outputs"]))
        tree.__setstate__({"max_depth": int(node["max_depth"]), "node_count": node_count, "nodes": nodes,
                           "values": values})
        return tree


def _check_tree_nodes(nodes: np.ndarray, *, node_count: int, n_features: int) -> None:
    """Refuse tree nodes whose indices would send the compiled traversal outside the tree."""
    names = nodes.dtype.names or ()
    if not {"left_child", "right_child", "feature"} <= set(names) or nodes.ndim != 1 or len(nodes) != node_count:
        raise ModelError(f"a saved tree is damaged: {len(nodes)} nodes of fields {names}, node_count {node_count}")
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    leaf = left == -1
    inner_ok = ((left > 0) & (left < node_count) & (right > 0) & (right < node_count)
                & (feature >= 0) & (feature < n_features))
    if not np.all(leaf | inner_ok) or not np.all(right[leaf] == -1):
        raise ModelError("a saved tree is damaged: a node points outside the tree or at a feature it does not have")


def _check_estimator(estimator) -> None:
    """Refuse a support vector machine whose arrays disagree (libsvm would read outside them)."""
    from sklearn.svm import SVC

    if not isinstance(estimator, SVC):
        return
    try:
        vectors = np.asarray(estimator.support_vectors_)
        n_support = np.asarray(estimator._n_support)
        n_classes = len(estimator.classes_)
        shapes_ok = (vectors.ndim == 2 and vectors.shape[1] == estimator.n_features_in_
                     and n_support.sum() == len(vectors) == len(estimator.support_)
                     and len(n_support) == n_classes
                     and np.asarray(estimator._dual_coef_).shape == (n_classes - 1, len(vectors))
                     and len(estimator._intercept_) == len(estimator._probA) == len(estimator._probB)
                     == n_classes * (n_classes - 1) // 2)
    except (AttributeError, TypeError, ValueError):
        shapes_ok = False
    if not shapes_ok:
        raise ModelError("a saved support vector machine is damaged: its arrays do not fit together")


def load_state(path):
    """Rebuild the estimator :func:`save_state` wrote at ``path`` (``path.json`` + ``path.npz``), without pickle.

    Raises
    ------
    ModelError
        A file is missing or damaged, or names a class outside :data:`ALLOWED`.
    """
    path = Path(path)
    json_file, arrays_file = path.with_suffix(".json"), path.with_suffix(".npz")
    try:
        state = json.loads(json_file.read_text())
        if not isinstance(state, dict) or state.get("format") != STATE_VERSION:
            raise ModelError(f"{json_file} has format {state.get('format') if isinstance(state, dict) else state!r}; "
                             f"this ser_core reads format {STATE_VERSION}")
        with np.load(arrays_file, allow_pickle=False) as arrays:
            return _Reader(arrays, _allowed()).node(state["estimator"])
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelError(f"{json_file} could not be read back: {error}") from None
