"""The requirement files: the hosted install (requirements.txt) lists what serving imports and no training package."""

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from conftest import NOT_HOSTED

ROOT = Path(__file__).resolve().parents[1]
#: Distributions only requirements-train.txt adds (the frameworks, pitch shifting, graph export, the cluster engine).
TRAINING_ONLY = ("torch", "tensorflow-cpu", "transformers", "librosa", "numba", "onnx", "dask")
#: Modules the code imports for tests alone (the CTranslate2 reference encoder), from requirements-dev.txt.
DEV_ONLY = {"ctranslate2": "ctranslate2"}
#: The code that runs where requirements.txt alone is installed imports from these folders (training code too).
CODE = ("ser_core", "ui", "app_pages", "app.py")
FIRST_PARTY = {"ser_core", "ui", "app_pages", "recipes"}
#: Modules whose distribution a listed one installs: Keras 3 with TensorFlow, distributed as dask[distributed].
COMES_WITH = {"keras": "tensorflow-cpu", "distributed": "dask"}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def listed(file: str) -> set[str]:
    """Distribution names a requirement file installs, following ``-r`` (extras and versions dropped)."""
    names = set()
    for line in (ROOT / file).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= listed(line[3:].strip())
        elif line:
            names.add(_normalised(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group()))
    return names


def imported_modules() -> dict[str, str]:
    """Third-party top-level modules the code imports, each with one file that imports it."""
    files = [path for entry in CODE for path in ([ROOT / entry] if entry.endswith(".py") else
                                                 sorted((ROOT / entry).rglob("*.py")))]
    modules = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    modules.setdefault(top, str(path.relative_to(ROOT)))
    return modules


def test_the_hosted_install_holds_no_training_package():
    hosted, training = listed("requirements.txt"), listed("requirements-train.txt")
    assert not hosted & set(TRAINING_ONLY)
    assert set(TRAINING_ONLY) <= training and hosted <= training
    assert (ROOT / "requirements-train.txt").read_text().splitlines()[1] == "-r requirements.txt"


def test_the_project_declares_no_dependencies_of_its_own():
    """``pip install .`` adds the project alone: the requirement files are the one list of dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "dependencies" not in project and "optional-dependencies" not in project


@pytest.mark.parametrize("module, where", sorted(imported_modules().items()))
def test_every_module_the_code_imports_is_listed(module, where):
    """Serving's imports in requirements.txt; training's in requirements-train.txt; tests' in requirements-dev.txt."""
    if module in DEV_ONLY:
        assert _normalised(DEV_ONLY[module]) in listed("requirements-dev.txt") - listed("requirements-train.txt")
        return
    file = "requirements-train.txt" if module in NOT_HOSTED else "requirements.txt"
    providers = {_normalised(name) for name in metadata.packages_distributions().get(module, [])}
    providers |= {COMES_WITH[module]} if module in COMES_WITH else set()
    assert providers & listed(file), f"{where} imports {module} ({sorted(providers) or 'not installed here'}); " \
                                     f"{file} lists none of them"
