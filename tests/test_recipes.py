"""recipes.default: the default model's road, end to end on a tiny corpus (members, ensemble, default)."""

import pytest

from ser_core.modelfolder.read import default_model_dir, load_model
from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig
from recipes import default as recipes


def _tiny_members():
    return (recipes.Member("compare-adaptive-lr", TrainConfig(
        model="adaptive_linear", data=DataSettings(features="EGEMAPS-16000", augment=("speed0.9",)),
        protocol=ProtocolSettings("kfold", n_folds=3, also=("random",)),
        fit=FitSettings(params={"C": 0.05, "class_weight": "balanced"})), 1.0, "linear member"),
        recipes.Member("logmel-cnn", TrainConfig(model="logmel_cnn", protocol=ProtocolSettings("kfold", n_folds=3),
                                                 fit=FitSettings(epochs=1, params={"widths": (4, 4, 4, 4)})),
                       1.0, "cnn member"))


@pytest.mark.slow
def test_build_default_trains_reuses_combines_and_points_the_default(tiny_ravdess, tmp_path, monkeypatch):
    monkeypatch.setattr(recipes, "default_members", _tiny_members)
    logs = []
    folder = recipes.build_default(tiny_ravdess, root=tmp_path, log=logs.append)
    assert default_model_dir(tmp_path) == folder
    model = load_model(folder)
    assert model.kind == "ensemble" and model.supports_speaker_adaptation
    assert set(model.metrics.protocols) == {"kfold", "kfold_speaker_adapted"}
    assert model.temperature > 0 and model.config["calibration"]["temperature_fitted_on"].endswith("(3-fold by speaker)'")
    card = (folder / "MODEL_CARD.md").read_text()
    assert "member `logmel-cnn`" in card and "silence trimmed at 30 dB" in card
    assert sum(abs(p - 1) < 1e-6 for p in [sum(model.predict_audio(next(tiny_ravdess.rglob("*.wav"))).probabilities.values())]) == 1
    logs.clear()
    recipes.build_default(tiny_ravdess, root=tmp_path, log=logs.append)
    assert sum("reusing" in line for line in logs) == 2  # members trained with this exact recipe are not retrained
