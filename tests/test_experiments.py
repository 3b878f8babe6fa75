"""The experiment scripts import and answer ``--help``, so a library change that breaks one shows up here."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
MODULES = sorted(path.stem for path in EXPERIMENTS.glob("*.py"))
#: Modules the scripts share, with no command of their own.
SHARED = {"common", "extra_features"}
SCRIPTS = [name for name in MODULES if name not in SHARED]


def test_the_scripts_are_found():
    assert {"common", "extra_features", "baselines", "study_ablation", "ensemble_groupings"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name, monkeypatch):
    monkeypatch.syspath_prepend(str(EXPERIMENTS))
    module = importlib.import_module(name)
    assert name in SHARED or callable(module.main)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name):
    result = subprocess.run([sys.executable, str(EXPERIMENTS / f"{name}.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
