"""ser_core.models.sklearn_state: scikit-learn estimators as plain arrays and JSON; tampered files refused."""

import json

import numpy as np
import pytest

from ser_core.errors import ModelError
from ser_core.models.classical import make_pipeline
from ser_core.models.sklearn_state import load_state, save_state


def _fitted(kind, **params):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6))
    y = np.array(["angry", "calm", "sad"] * 20, dtype=object)
    return make_pipeline(kind, seed=0, **params).fit(X, y), X


@pytest.mark.parametrize(("kind", "params"), [("logistic_regression", {}), ("svm", {}), ("mlp", {}),
                                              ("random_forest", {"n_estimators": 5})])
def test_a_pipeline_comes_back_identical(tmp_path, kind, params):
    pipeline, X = _fitted(kind, **params)
    save_state(pipeline, tmp_path / "state")
    loaded = load_state(tmp_path / "state")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    assert loaded.classes_.dtype == pipeline.classes_.dtype and list(loaded.classes_) == list(pipeline.classes_)


def _edit(path, edit):
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))


def _replace_array(npz, name, change):
    with np.load(npz, allow_pickle=False) as arrays:
        contents = {key: arrays[key] for key in arrays.files}
    contents[name] = change(contents[name])
    np.savez(npz, **contents)


def test_a_class_outside_the_allow_list_is_refused(tmp_path):
    pipeline, _ = _fitted("logistic_regression")
    save_state(pipeline, tmp_path / "state")
    _edit(tmp_path / "state.json", lambda s: s["estimator"]["state"]["steps"][1]["__tuple__"][1].update(
        __estimator__="FunctionTransformer"))
    with pytest.raises(ModelError, match="'FunctionTransformer', which is not allowed"):
        load_state(tmp_path / "state")


def test_a_tree_pointing_outside_itself_is_refused_not_a_crash(tmp_path):
    pipeline, _ = _fitted("random_forest", n_estimators=2)
    save_state(pipeline, tmp_path / "state")
    state = json.loads((tmp_path / "state.json").read_text())
    forest = state["estimator"]["state"]["steps"][1]["__tuple__"][1]["state"]
    nodes = forest["estimators_"][0]["state"]["tree_"]["__tree__"]["nodes"]["__array__"]

    def corrupt(array):
        array = array.copy()
        array["left_child"][0] = 10**9
        return array

    _replace_array(tmp_path / "state.npz", nodes, corrupt)
    with pytest.raises(ModelError, match="a saved tree is damaged"):
        load_state(tmp_path / "state")


def test_a_support_vector_machine_with_arrays_that_disagree_is_refused(tmp_path):
    pipeline, _ = _fitted("svm")
    save_state(pipeline, tmp_path / "state")
    svc = json.loads((tmp_path / "state.json").read_text())["estimator"]["state"]["steps"][1]["__tuple__"][1]
    _replace_array(tmp_path / "state.npz", svc["state"]["support_vectors_"]["__array__"], lambda a: a[:3])
    with pytest.raises(ModelError, match="support vector machine is damaged"):
        load_state(tmp_path / "state")


def test_what_cannot_be_saved_without_pickle_is_named(tmp_path):
    pipeline, _ = _fitted("logistic_regression")
    pipeline.steps[1][1].extra_ = object()
    with pytest.raises(ModelError, match=r"Pipeline.steps\[1\]\[1\].extra_ is a builtins.object"):
        save_state(pipeline, tmp_path / "state")


def test_a_missing_or_foreign_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="could not be read back"):
        load_state(tmp_path / "nothing")
    (tmp_path / "state.json").write_text('{"format": 99}')
    with pytest.raises(ModelError, match="format 99"):
        load_state(tmp_path / "state")
