"""ONNX exports agree with their native models, and serving never needs torch or TensorFlow.

torch and TensorFlow never share a process here: the native side of each check runs in
its own interpreter (holding both aborted a process, issue 20), and the export is read
back with onnxruntime alone.
"""

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import NOT_HOSTED, requires_keras
from ser_core.models.onnx_export import TOLERANCE

ROOT = Path(__file__).resolve().parents[1]
requires_onnx = pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason="needs onnx and onnxruntime")
requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")


def run_python(code: str, *, timeout=300) -> dict:
    """Run ``code`` in a fresh interpreter at the project root; return the JSON it prints last."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- tiny random networks, each family

TORCH_CHECK = """
import json, numpy as np, torch
from ser_core.models.logmel_cnn import LogMelCNN, build_network
from ser_core.models.onnx_export import export_estimator, max_probability_difference

torch.manual_seed(0)
rng = np.random.default_rng(0)
model = LogMelCNN(widths=(4, 6, 8, 8))
model.classes_ = np.array(["a", "b", "c"])
model.input_shape_ = (16, 21)
model.mean_, model.std_ = -40.0, 12.0
network = build_network(16, 3, widths=model.widths)
for module in network.modules():  # non-trivial batch-norm statistics
    if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.uniform_(-0.5, 0.5); module.running_var.uniform_(0.5, 2.0)
        module.weight.data.uniform_(0.5, 1.5); module.bias.data.uniform_(-0.2, 0.2)
model.network_ = network.eval()
X = rng.normal(-40, 12, (9, 16, 21)).astype("float32")
print(json.dumps({"diff": max_probability_difference(model, export_estimator(model), X)}))
"""

KERAS_CHECK = """
import json, numpy as np, keras
from ser_core.models.keras_study import BUILDERS, KerasClassifier
from ser_core.models.onnx_export import export_estimator, max_probability_difference

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
diffs = {}
for architecture in ("lstm", "cnn", "cnn_lstm"):
    for standardize in (False, True):
        model = KerasClassifier(architecture=architecture, standardize=standardize)
        model.classes_ = np.array(["a", "b", "c"])
        model.input_shape_ = (21, 3)  # odd length: max-pooling with padding="same" pads
        network = BUILDERS[architecture](model.input_shape_, 3)
        for layer in network.layers:
            if type(layer).__name__ == "BatchNormalization":
                gamma, beta, mean, variance = layer.get_weights()
                layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.uniform(-0.2, 0.2, beta.shape),
                                   rng.uniform(-0.5, 0.5, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])
        model.model_ = network
        model.mean_ = rng.normal(0, 1, (1, 3)).astype("float32") if standardize else None
        model.scale_ = rng.uniform(0.5, 2, (1, 3)).astype("float32") if standardize else None
        X = rng.normal(0, 2, (9, 21, 3)).astype("float32")
        diffs[f"{architecture}-{standardize}"] = max_probability_difference(model, export_estimator(model), X)
print(json.dumps(diffs))
"""


@requires_onnx
@requires_torch
def test_logmel_cnn_export_agrees_with_torch():
    assert run_python(TORCH_CHECK)["diff"] <= TOLERANCE


@requires_onnx
@requires_keras
def test_keras_exports_agree_with_keras():
    diffs = run_python(KERAS_CHECK)
    assert len(diffs) == 6
    assert max(diffs.values()) <= TOLERANCE, diffs


@requires_onnx
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes", [2, 4])
def test_mlp_export_agrees_with_scikit_learn(n_classes):
    from ser_core.models.classical import ClassicalClassifier
    from ser_core.models.onnx_export import export_estimator, max_probability_difference

    rng = np.random.default_rng(n_classes)
    X = rng.normal(3, 5, (60, 12))
    y = np.resize(list("abcd"[:n_classes]), 60)
    model = ClassicalClassifier(kind="mlp", params={"hidden_layer_sizes": (16, 8), "max_iter": 50,
                                                    "early_stopping": False}).fit(X, y)
    assert max_probability_difference(model, export_estimator(model), X) <= TOLERANCE


def test_other_families_have_no_export():
    from ser_core.errors import ModelError
    from ser_core.models.classical import ClassicalClassifier
    from ser_core.models.onnx_export import export_estimator, exportable

    model = ClassicalClassifier(kind="logistic_regression").fit(np.eye(4), list("abab"))
    assert not exportable(model)
    with pytest.raises(ModelError, match="has no ONNX export"):
        export_estimator(model)


# ---------------------------------------------------------------- the runtime wrapper


@pytest.fixture(scope="module")
def mlp_graph_file(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ser_core.models.onnx_export import graph_bytes, mlp_graph

    rng = np.random.default_rng(0)
    graph = mlp_graph(classes=["x", "y", "z"], mean=np.zeros(5), scale=np.ones(5),
                      coefs=[rng.normal(size=(5, 4)), rng.normal(size=(4, 3))], intercepts=[np.zeros(4), np.zeros(3)],
                      activation="relu", out_activation="softmax")
    folder = tmp_path_factory.mktemp("onnx-mlp")
    (folder / "model.onnx").write_bytes(graph_bytes(graph))
    return folder


def test_runtime_reads_classes_and_shape_from_the_graph(mlp_graph_file):
    from ser_core.models.onnx_runtime import OnnxClassifier

    model = OnnxClassifier.load(mlp_graph_file)
    assert model.classes_.tolist() == ["x", "y", "z"] and model.input_shape_ == (5,)
    probabilities = model.predict_proba(np.ones((3, 5)))
    assert probabilities.shape == (3, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-6)
    assert model.predict(np.ones((1, 5)))[0] in {"x", "y", "z"}
    assert model.n_parameters_ == 5 * 4 + 4 + 4 * 3 + 3


@pytest.mark.parametrize("X, message", [
    (np.ones((2, 6)), r"shape \(6,\) per clip, but the model expects \(5,\)"),
    (np.ones(5), "must be 2-D"),
    (np.full((1, 5), np.nan), "NaN or infinity"),
])
def test_runtime_refuses_bad_features(mlp_graph_file, X, message):
    from ser_core.errors import InputError
    from ser_core.models.onnx_runtime import OnnxClassifier

    with pytest.raises(InputError, match=message):
        OnnxClassifier.load(mlp_graph_file).predict_proba(X)


def test_runtime_names_a_missing_or_damaged_graph(tmp_path):
    pytest.importorskip("onnxruntime")
    from ser_core.errors import ModelError
    from ser_core.models.onnx_runtime import OnnxClassifier

    with pytest.raises(ModelError, match="model.onnx could not be read"):
        OnnxClassifier.load(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelError, match="could not be loaded by onnxruntime"):
        OnnxClassifier.load(tmp_path)


# ---------------------------------------------------------------- model folders: save, load, old folders

SHIPPED = sorted(path.parent.relative_to(ROOT / "artifacts").as_posix()
                 for path in (ROOT / "artifacts").glob("*/config.json"))
NETWORKS = [name for name in SHIPPED
            if json.loads((ROOT / "artifacts" / name / "config.json").read_text())["family"] in ("keras", "torch")]


def test_every_shipped_network_has_a_checked_export():
    assert {"logmel-cnn", "study-cnn", "study-cnn-lstm", "study-lstm"} <= set(NETWORKS)
    for folder in [ROOT / "artifacts" / name for name in NETWORKS] + [ROOT / "artifacts/cnn-compare-ensemble/members/logmel-cnn"]:
        config = json.loads((folder / "config.json").read_text())
        assert "model.onnx" in config["files"], folder
        assert config["onnx"]["exported"] and config["onnx"]["max_abs_probability_difference"] <= TOLERANCE
        assert config["onnx"]["n_clips"] >= 8
        assert "serving: ONNX graph `model.onnx`" in (folder / "MODEL_CARD.md").read_text()


def _eulerian_order(names):
    """A sequence in which every ordered pair of different names appears next to each other (Hierholzer)."""
    unused = {name: [other for other in names if other != name] for name in names}
    stack, order = [names[0]], []
    while stack:
        if unused[stack[-1]]:
            stack.append(unused[stack[-1]].pop())
        else:
            order.append(stack.pop())
    return order[::-1]


PREDICT_IN_ORDER = f"""
import json, sys
from pathlib import Path
from ser_core.modelfolder.read import load_model
clip = sorted(Path(sys.argv[1]).glob("Actor_01/*.wav"))[0]
for name in sys.argv[2:]:
    model = load_model(Path("artifacts") / name)
    for _ in range(2):
        probabilities = model.predict_audio(clip).probabilities
    assert abs(sum(probabilities.values()) - 1) < 1e-4, (name, probabilities)
    print(name, "ok", flush=True)
print(json.dumps({{"heavy": sorted(m for m in {NOT_HOSTED!r} if m in sys.modules)}}))
"""


def _predict_in_order(names, corpus):
    done = subprocess.run([sys.executable, "-c", PREDICT_IN_ORDER, str(corpus), *names], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{' -> '.join(names)}: exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    assert done.stdout.count(" ok") == len(names)
    return json.loads(done.stdout.strip().splitlines()[-1])


@requires_onnx
def test_one_process_serves_every_shipped_model_after_every_other_without_training_packages(ravdess_16k):
    order = _eulerian_order(SHIPPED)
    pairs = set(zip(order, order[1:]))
    assert len(pairs) == len(SHIPPED) * (len(SHIPPED) - 1)
    assert _predict_in_order(order, ravdess_16k)["heavy"] == []


@pytest.mark.slow
@requires_onnx
@pytest.mark.parametrize("first", SHIPPED)
def test_each_pair_of_shipped_models_in_a_fresh_process(first, ravdess_16k):
    for second in SHIPPED:
        if second != first:
            assert _predict_in_order([first, second], ravdess_16k)["heavy"] == []


def _old_copy(name, tmp_path):
    """A copy of a shipped folder as saved before exports: no model.onnx, nothing about it in config or card."""
    import shutil

    from ser_core.modelfolder.card import model_card
    from ser_core.modelfolder.read import read_metrics

    folder = tmp_path / name
    shutil.copytree(ROOT / "artifacts" / name, folder)
    (folder / "model.onnx").unlink()
    config = json.loads((folder / "config.json").read_text())
    del config["files"]["model.onnx"], config["onnx"]
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "MODEL_CARD.md").write_text(model_card(config, read_metrics(folder)))
    return folder


OLD_FOLDER_CHECK = """
import json, os, sys
from pathlib import Path
import numpy as np
from ser_core.modelfolder.read import load_model
old, new = load_model(sys.argv[1]), load_model(Path("artifacts") / sys.argv[2])
clips = sorted(Path(sys.argv[3]).glob("Actor_02/*.wav"))[:4]
X = new.stack_features([new.features(clip) for clip in clips])
difference = float(np.abs(old.predict_proba(X) - new.predict_proba(X)).max())
child = old.estimator._process
os.kill(child.pid, 9)
child.wait()
again = old.predict_audio(clips[0]).probabilities  # a dead child is started again
print(json.dumps({"old": type(old.estimator).__name__, "new": type(new.estimator).__name__, "difference": difference,
                  "restarted": old.estimator._process.pid != child.pid, "sum": sum(again.values()),
                  "heavy": sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules)}))
"""


@requires_onnx
@requires_torch
def test_an_old_folder_without_export_runs_in_a_child_process(tmp_path, ravdess_16k):
    folder = _old_copy("logmel-cnn", tmp_path)
    result = run_python(OLD_FOLDER_CHECK.replace("sys.argv[1]", repr(str(folder))).replace("sys.argv[2]", "'logmel-cnn'")
                        .replace("sys.argv[3]", repr(str(ravdess_16k))))
    assert result["old"] == "IsolatedEstimator" and result["new"] == "OnnxClassifier"
    assert result["difference"] <= TOLERANCE
    assert result["restarted"] and abs(result["sum"] - 1) < 1e-4
    assert result["heavy"] == []


@pytest.mark.slow
@requires_onnx
@requires_keras
def test_add_export_gives_an_old_keras_folder_its_graph_back(tmp_path, ravdess_16k):
    from ser_core.modelfolder.read import load_model

    folder = _old_copy("study-cnn-lstm", tmp_path)
    record = run_python(f"""
        import json
        from ser_core.modelfolder.export import add_export
        print(json.dumps(add_export({str(folder)!r})))
    """)
    assert record["exported"] and record["max_abs_probability_difference"] <= TOLERANCE
    assert "model.onnx" in json.loads((folder / "config.json").read_text())["files"]
    model = load_model(folder, trust=True)
    assert type(model.estimator).__name__ == "OnnxClassifier"


@requires_onnx
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_save_writes_a_checked_export_that_loads_without_pickle(tmp_path, ravdess_16k):
    from ser_core.modelfolder.read import load_model
    from ser_core.modelfolder.save import save_artifact
    from ser_core.models.classical import ClassicalClassifier

    clips = sorted(ravdess_16k.glob("Actor_01/*.wav"))[:12]
    rng = np.random.default_rng(0)
    X, y = rng.normal(0, 20, (40, 160)), np.resize(["angry", "calm"], 40)
    model = ClassicalClassifier(kind="mlp", params={"hidden_layer_sizes": (8,), "max_iter": 30}).fit(X, y)
    predictions = {"kfold": {"paths": [str(clip) for clip in clips], "labels": ["angry"] * 12}}
    folder = save_artifact(tmp_path / "visitor" / "tiny-mlp", model, model_name="mlp", feature_kind="MFCC-16000-40",
                           predictions=predictions, training={"data": str(ravdess_16k)}, latency=False)
    config = json.loads((folder / "config.json").read_text())
    assert config["onnx"]["exported"] and config["onnx"]["n_clips"] == 12
    assert config["onnx"]["max_abs_probability_difference"] <= TOLERANCE
    assert "model.onnx" in config["files"] and "serving: ONNX graph" in (folder / "MODEL_CARD.md").read_text()
    loaded = load_model(folder)  # outside the trusted folders: no pickle is read, so no trust is needed
    assert type(loaded.estimator).__name__ == "OnnxClassifier"
    X = loaded.stack_features([loaded.features(clip) for clip in clips])
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=TOLERANCE)


@requires_onnx
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_without_a_readable_training_clip_the_export_is_checked_on_synthetic_voices(tmp_path):
    from ser_core.modelfolder.save import save_artifact
    from ser_core.models.classical import ClassicalClassifier

    rng = np.random.default_rng(1)
    model = ClassicalClassifier(kind="mlp", params={"hidden_layer_sizes": (8,), "max_iter": 30}).fit(
        rng.normal(0, 20, (30, 160)), np.resize(["a", "b", "c"], 30))
    predictions = {"kfold": {"paths": ["gone/clip.wav"], "labels": ["a"]}}
    folder = save_artifact(tmp_path / "m", model, model_name="mlp", feature_kind="MFCC-16000-40", predictions=predictions,
                           training={"data": str(tmp_path / "nowhere")}, latency=False)
    record = json.loads((folder / "config.json").read_text())["onnx"]
    assert record["exported"] and record["checked_on"].startswith("8 synthetic voiced clips")
    assert record["max_abs_probability_difference"] <= TOLERANCE


def test_an_old_folder_names_the_missing_framework(tmp_path, monkeypatch):
    import importlib.util

    from ser_core.errors import ModelError
    from ser_core.models.isolated import IsolatedEstimator

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ModelError, match="needs torch, which is not installed here"):
        IsolatedEstimator("logmel_cnn", tmp_path)
