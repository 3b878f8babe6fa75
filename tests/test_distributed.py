"""Tests for ser_core.distributed: the cluster engine on a LocalCluster and on real scheduler and worker processes.

Cluster results must equal this machine's: features to 1e-5, the same labels and
probabilities (to 1e-6), the same order, failures with their reasons, even when a worker dies.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ser_core import distributed as engine
from ser_core.distributed import LOCAL, SCHEDULER_ENV, in_input_order, items_per_task, resolve_scheduler
from ser_core.errors import ClusterError
from ser_core.features import extract_clips
from ser_core.serving.predict import iter_predictions

from conftest import TINY_ADAPTIVE_MODEL, speechlike

ROOT = Path(__file__).resolve().parents[1]
KIND = "MFCC-16000-13"


def require_dask():
    """Skip with the reason when dask[distributed] is missing here; in CI (``$CI`` set) fail instead."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        message = "dask[distributed] is not installed (pip install -r requirements-train.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def real_clips(ravdess_16k, n, *, actor="01"):
    return [str(p) for p in sorted((ravdess_16k / f"Actor_{actor}").glob("*.wav"))[:n]]


def assert_same_features(cluster, local):
    assert cluster.X.shape == local.X.shape
    assert np.array_equal(np.isnan(cluster.X), np.isnan(local.X))
    np.testing.assert_allclose(cluster.X, local.X, atol=1e-5, equal_nan=True)
    assert cluster.failures == local.failures


def assert_same_records(cluster, local):
    cluster, local = ([r.to_record() if hasattr(r, "to_record") else r for r in records]  # Predictions as JSON lines
                      for records in (cluster, local))
    assert [(r["path"], r.get("label"), r.get("start_s"), "error" in r) for r in cluster] == \
           [(r["path"], r.get("label"), r.get("start_s"), "error" in r) for r in local]
    for ours, theirs in zip(cluster, local):
        assert ours.keys() == theirs.keys()
        for label, p in (theirs.get("probabilities") or {}).items():
            # float32 features; a worker's maths library runs on one thread, this machine's on several
            assert ours["probabilities"][label] == pytest.approx(p, abs=1e-6)


# ---------------------------------------------------------------- choosing the engine (no cluster needed)

@pytest.mark.parametrize("explicit, override, env, expected", [
    (None, None, None, None),                                        # nothing set: this machine
    (None, None, "tcp://10.0.0.1:8786", "tcp://10.0.0.1:8786"),      # the environment variable
    (None, "tcp://10.0.0.2:8786", "tcp://10.0.0.1:8786", "tcp://10.0.0.2:8786"),  # use_scheduler (CLI) wins
    ("tcp://10.0.0.3:8786", "tcp://10.0.0.2:8786", None, "tcp://10.0.0.3:8786"),  # the keyword wins
    (LOCAL, None, "tcp://10.0.0.1:8786", None),                      # "local" overrides the environment
    (None, LOCAL, "tcp://10.0.0.1:8786", None),                      # --scheduler local too
    (None, None, "  ", None),                                        # a blank variable is unset
])
def test_the_scheduler_comes_from_keyword_cli_or_environment(monkeypatch, explicit, override, env, expected):
    if env is None:
        monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    else:
        monkeypatch.setenv(SCHEDULER_ENV, env)
    with engine.use_scheduler(override):
        assert resolve_scheduler(explicit) == expected


@pytest.mark.parametrize("n_items, n_threads, expected", [
    (1, 2, 1), (10, 2, 1), (300, 2, 19), (1_000, 100, 2), (1_000_000, 100, 64),
])
def test_tasks_hold_many_items_but_every_thread_gets_several(n_items, n_threads, expected):
    assert items_per_task(n_items, n_threads=n_threads) == expected


def test_results_are_put_back_in_input_order():
    finished = [(2, "c"), (0, "a"), (3, "d"), (1, "b")]
    assert list(in_input_order(iter(finished))) == ["a", "b", "c", "d"]


def test_a_large_file_is_a_task_of_its_own(tmp_path):
    from ser_core.serving.predict import _file_batches

    names = ["a", "b", "big", "c"]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * (1000 if name == "big" else 10))
    files = [tmp_path / name for name in names]
    assert _file_batches(files, max_files=3, max_bytes=500) == [files[:2], [files[2]], [files[3]]]
    assert _file_batches(files, max_files=2, max_bytes=10_000) == [files[:2], files[2:]]


@pytest.mark.parametrize("address, message", [
    ("nonsense", "cannot use 'nonsense' as a Dask scheduler address"),
    ("ftp://host:21", "cannot use 'ftp://host:21' as a Dask scheduler address"),
    ("tcp://127.0.0.1:{port}", "cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 1 s"),
])
def test_a_bad_or_unreachable_scheduler_is_one_clear_error(address, message):
    require_dask()
    port = free_port()
    with pytest.raises(ClusterError, match=message.format(port=port)):
        engine.connect(address.format(port=port), timeout_s=1)


def test_the_cli_reports_an_unreachable_scheduler_in_one_line(adaptive_models, wav_file, monkeypatch, capsys):
    from ser_core.cli import main

    require_dask()
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 1.0)
    address = f"tcp://127.0.0.1:{free_port()}"
    code = main(["predict", str(wav_file(speechlike())), "--model", str(adaptive_models / TINY_ADAPTIVE_MODEL),
                 "--scheduler", address])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"error: cannot reach the Dask scheduler at {address} within 1 s; "
                       "expected a running 'dask scheduler' there")
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize("command", ["train", "reproduce"])
def test_train_and_reproduce_send_only_their_feature_extraction(command, monkeypatch, capsys):
    import recipes.study
    import ser_core.training.train
    from ser_core.cli import main

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--scheduler" in help_text and "feature extraction only (training stays on this machine)" in help_text
    seen = []

    def fake(*args, **kwargs):  # stands in for the run: where would its load_dataset extract?
        seen.append(resolve_scheduler())
        raise ClusterError("stopped by the test")

    import ser_core.cli.models

    monkeypatch.setattr(ser_core.training.train, "train", fake)
    monkeypatch.setattr(recipes.study, "reproduce_study", fake)
    monkeypatch.setattr(ser_core.cli.models, "index_from_args", lambda args, path: SimpleNamespace(notes=[]))
    args = ["--data", "corpus", "--model", "logistic_regression", "--out", "model"] if command == "train" else []
    assert main([command, *args, "--scheduler", "tcp://10.0.0.9:8786"]) == 2
    assert seen == ["tcp://10.0.0.9:8786"] and resolve_scheduler() is None


def test_a_scheduler_without_dask_names_the_training_requirements(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as on the hosted install (requirements.txt)
    with pytest.raises(ClusterError, match="tcp://10.0.0.9:8786 needs dask\\[distributed\\], which is not installed; "
                                           "pip install -r requirements-train.txt adds it"):
        engine.connect("tcp://10.0.0.9:8786")


def test_importing_ser_core_does_not_import_dask():
    code = ("import sys, ser_core.cli, ser_core.features, ser_core.serving.predict, ser_core.distributed; "
            "print(sorted(m for m in ('dask', 'distributed', 'fsspec') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


# ---------------------------------------------------------------- a LocalCluster: 2 worker processes

@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes with 1 thread each; its scheduler address is ``cluster.address``."""
    require_dask()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as local:
        with Client(local, set_as_default=False) as client:  # for tests that look inside (worker pids)
            yield SimpleNamespace(address=local.scheduler_address, client=client)
        engine.disconnect()


def test_features_on_the_cluster_equal_the_local_ones_in_order(cluster, ravdess_16k, tmp_path, monkeypatch):
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "client-cache"))
    paths = real_clips(ravdess_16k, 8)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF this is not audio")
    paths[3:3] = [str(broken), str(tmp_path / "missing.wav")]
    local = extract_clips(paths, spec=KIND, cache=False, n_jobs=1)
    seen = []
    ours = extract_clips(paths, spec=KIND, scheduler=cluster.address, progress=lambda done, total: seen.append(done))
    assert_same_features(ours, local)
    assert set(ours.failures) == {3, 4} and "not audio in any supported format" in ours.failures[3]
    assert seen[-1] == len(paths) and seen == sorted(seen)
    # The features came back to this machine's cache: a rerun is warm without any cluster.
    rerun = extract_clips(paths, spec=KIND, scheduler=LOCAL, n_jobs=1)
    assert_same_features(rerun, local)


def test_augmented_copies_on_the_cluster_equal_the_local_ones(cluster, ravdess_16k):
    from ser_core.audio.augment import parse_augmentation

    paths = real_clips(ravdess_16k, 4, actor="02")
    speed = parse_augmentation("speed0.9")
    local = extract_clips(paths, spec=KIND, cache=False, n_jobs=1, augmentation=speed)
    assert_same_features(extract_clips(paths, spec=KIND, cache=False, augmentation=speed, scheduler=cluster.address),
                         local)


def test_the_environment_variable_sends_the_work_to_the_cluster(cluster, ravdess_16k, monkeypatch):
    calls = []
    original = engine.map_batches
    monkeypatch.setattr(engine, "map_batches", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    monkeypatch.setenv(SCHEDULER_ENV, cluster.address)
    paths = real_clips(ravdess_16k, 2, actor="03")
    result = extract_clips(paths, spec=KIND, cache=False)
    assert calls and not result.failures


def test_predictions_on_the_cluster_equal_the_local_ones_in_order(cluster, ravdess_16k, adaptive_models, tmp_path,
                                                                 wav_file):
    from ser_core.modelfolder.read import load_model

    model = load_model(adaptive_models / TINY_ADAPTIVE_MODEL)
    folder = tmp_path / "to-classify"
    (folder / "sub").mkdir(parents=True)
    for path in real_clips(ravdess_16k, 5, actor="04"):
        (folder / Path(path).name).symlink_to(path)
    (folder / "sub" / "broken.wav").write_bytes(b"RIFF nonsense")
    wav_file(speechlike(duration_s=12.0), name="to-classify/sub/long.wav")
    local = list(iter_predictions([folder], model, long_s=10.0, scheduler=LOCAL))
    seen = []
    ours = list(iter_predictions([folder], model, long_s=10.0, scheduler=cluster.address,
                                 progress=lambda done, total: seen.append((done, total))))
    assert_same_records(ours, local)
    assert sum(1 for r in ours if r.to_record().get("summary")) == 1 and sum(not r.ok for r in ours) == 1
    assert seen[-1] == (7, 7)


class SlowIdentity:
    """An "augmentation" that changes nothing but takes its time, so a worker can be killed mid-job."""

    key = "slow-identity"

    def __call__(self, y, *, sample_rate):
        time.sleep(0.4)
        return y


def test_a_worker_killed_mid_job_loses_nothing(cluster, ravdess_16k):
    paths = real_clips(ravdess_16k, 12, actor="05")
    local = extract_clips(paths, spec=KIND, cache=False, n_jobs=1)
    pids = cluster.client.run(os.getpid)
    killed = []

    def kill_one_worker(done, total):
        if 0 < done < total and not killed:  # some batches are in, others are running on both workers
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    ours = extract_clips(paths, spec=KIND, cache=False, augmentation=SlowIdentity(), scheduler=cluster.address,
                         progress=kill_one_worker)
    assert killed
    assert_same_features(ours, local)
    assert not ours.failures


# ---------------------------------------------------------------- real `dask scheduler` and `dask worker` processes
# Every process runs from an environment where the project is installed (`pip install .`), in a
# folder outside the checkout, with no PYTHONPATH: the scheduler must unpickle task graphs that
# name ser_core, the workers must run them.

def clean_env(**extra) -> dict:
    """This process's environment without PYTHONPATH and the default scheduler, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", SCHEDULER_ENV)}
    return {**env, **extra}


@pytest.fixture(scope="session")
def installed_python(tmp_path_factory) -> Path:
    """The python of a fresh virtual environment with the project installed by ``pip install .``.

    The project is installed (not linked) from a copy of the checkout's pyproject.toml,
    ser_core/ and recipes/. Its dependencies come from this interpreter's site-packages
    through a ``.pth`` file, standing in for ``pip install -r requirements.txt`` without a
    download; the build uses the setuptools found there (``--no-build-isolation``).
    """
    require_dask()
    root = tmp_path_factory.mktemp("installed")
    source = root / "project"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in ("ser_core", "recipes"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "env")], check=True, timeout=120)
    python = root / "env" / "bin" / "python"

    def run_python(code: str) -> str:
        return subprocess.run([str(python), "-c", code], cwd=root, env=clean_env(), capture_output=True, text=True,
                              check=True, timeout=120).stdout.strip()

    site_packages = Path(run_python("import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    dependencies = sysconfig.get_paths()["purelib"]
    (site_packages / "ser_test_dependencies.pth").write_text(f"import site; site.addsitedir({dependencies!r})\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
                    str(source)], cwd=root, env=clean_env(), check=True, capture_output=True, timeout=300)
    assert Path(run_python("import ser_core; print(ser_core.__file__)")).is_relative_to(site_packages)
    return python


def stop(process: subprocess.Popen) -> None:
    """End a process started in its own session, and every process it started (a nanny's workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def started(commands: dict[str, list[str]], *, cwd: Path, env: dict, logs: Path):
    """Start each named command in its own session (output in ``logs/<name>.log``); yield the processes, then stop them."""
    logs.mkdir(exist_ok=True)
    processes = {}
    try:
        for name, command in commands.items():
            with open(logs / f"{name}.log", "wb") as log:
                processes[name] = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                   start_new_session=True)
        yield processes
    finally:
        engine.disconnect()
        for process in processes.values():
            stop(process)


def wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout=60, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=120)


@pytest.fixture
def real_cluster(installed_python, tmp_path):
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (workers slowed by dask_slow_worker.py).

    Yields ``(address, workers)`` with ``workers`` mapping each worker's pid to its process.
    Every process is killed at the end, whatever happened.
    """
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [str(installed_python), "-m", "dask"]
    worker = [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
              "--preload", str(ROOT / "tests" / "dask_slow_worker.py")]
    commands = {"scheduler": [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                "worker-0": worker, "worker-1": worker}
    work = tmp_path / "elsewhere"
    work.mkdir()
    with started(commands, cwd=work, env=clean_env(), logs=tmp_path / "dask-logs") as processes:
        wait_for_workers(address, 2)
        yield address, {processes[name].pid: processes[name] for name in ("worker-0", "worker-1")}


def run_cli(python, *args, cwd, env_extra):
    return subprocess.Popen([str(python), "-m", "ser_core", *map(str, args)], cwd=cwd, env=clean_env(**env_extra),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_a_busy_worker(address, workers, job, *, timeout_s=60.0):
    """Once a worker is running tasks of ``job``, SIGKILL it; return its pid."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        pids = client.run(os.getpid)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and job.poll() is None:
            busy = [pids[worker] for worker, keys in client.processing().items() if keys and worker in pids]
            if busy:
                workers[busy[0]].kill()
                return busy[0]
            time.sleep(0.05)
    raise AssertionError("the job ended before any worker was seen running it")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_cli_on_a_real_scheduler_gives_the_local_numbers(real_cluster, installed_python, tiny_ravdess,
                                                             adaptive_models, tmp_path):
    from ser_core.data.index import index_corpus
    from ser_core.modelfolder.read import load_model
    from ser_core.serving.predict import iter_predictions

    address, workers = real_cluster
    client_cache = tmp_path / "client-cache"
    out = tmp_path / "features.npz"
    job = run_cli(installed_python, "features", "--data", tiny_ravdess, "--kind", KIND, "--out", out,
                  "--scheduler", address, cwd=tmp_path, env_extra={"SER_CACHE_DIR": str(client_cache)})
    killed = kill_a_busy_worker(address, workers, job)
    stdout, stderr = job.communicate(timeout=180)
    assert job.returncode == 0, stderr
    assert workers[killed].poll() is not None

    paths = index_corpus(tiny_ravdess).clips["path"].tolist()
    local = extract_clips(paths, spec=KIND, cache=False, n_jobs=1)
    saved = np.load(out)
    assert saved["paths"].tolist() == paths and not local.failures
    np.testing.assert_allclose(saved["features"], local.X, atol=1e-5)
    assert len(list((client_cache / "clips").rglob("*.npz"))) == len(paths)  # the client's cache is warm

    folder = tmp_path / "to-classify"
    folder.mkdir()
    for path in paths[:6]:
        (folder / Path(path).name).symlink_to(path)
    (folder / "broken.wav").write_bytes(b"RIFF nonsense")
    model_folder = adaptive_models / TINY_ADAPTIVE_MODEL
    job = run_cli(installed_python, "predict", folder, "--model", model_folder, "--json", "--scheduler", address,
                  cwd=tmp_path, env_extra={"SER_CACHE_DIR": str(client_cache)})
    stdout, stderr = job.communicate(timeout=120)
    assert job.returncode == 2, stderr  # the broken file, reported like locally
    ours = [json.loads(line) for line in stdout.splitlines()]
    assert_same_records(ours, list(iter_predictions([folder], load_model(model_folder), scheduler=LOCAL)))
    assert "could not decode" in ours[-1]["error"]


# ---------------------------------------------------------------- the README's cluster commands, as written

#: The README's fenced block of cluster commands.
README_COMMANDS = re.compile(r"## Beyond one machine \(Dask\).*?```bash\n(.*?)```", re.S)


def readme_cluster_commands() -> dict[str, list[str]]:
    """The README's commands that start the scheduler and a worker and run features and predict, split in words."""
    block = README_COMMANDS.search((ROOT / "README.md").read_text(encoding="utf-8")).group(1)
    commands = {}
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] in (["python", "-m", "dask"], ["python", "-m", "ser_core"]) and words[3] not in commands:
            commands[words[3]] = words
    return commands


def filled_in(words: list[str], *, python: Path, port: int, places: dict[str, Path]) -> list[str]:
    """A README command with its placeholders filled: this python, 127.0.0.1 on ``port``, local folders."""
    filled = [str(python)]
    for word in words[1:]:
        word = word.replace("SCHEDULER:8786", f"127.0.0.1:{port}")
        filled.append(str(port) if word == "8786" else str(places.get(word, word)))
    return filled


def scheduler_task_names(address: str) -> set[str]:
    """The task names (prefixes) the scheduler has seen."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_readme_cluster_commands_run_verbatim_from_an_installed_copy(installed_python, ravdess_16k,
                                                                         adaptive_models, tmp_path):
    from ser_core.data.index import index_corpus
    from ser_core.modelfolder.read import load_model

    commands = readme_cluster_commands()
    assert {"scheduler", "worker", "features", "predict"} <= set(commands)
    corpus, calls, work = tmp_path / "corpus", tmp_path / "calls", tmp_path / "elsewhere"
    for folder in (calls, work):
        folder.mkdir()
    for actor in ("01", "02"):
        (corpus / f"Actor_{actor}").mkdir(parents=True)
        for emotion in range(1, 9):
            path = sorted((ravdess_16k / f"Actor_{actor}").glob(f"03-01-{emotion:02d}-*.wav"))[0]
            (corpus / f"Actor_{actor}" / path.name).symlink_to(path)
            if actor == "02" and emotion % 2:
                (calls / path.name).symlink_to(path)
    port = free_port()
    run = {name: filled_in(words, python=installed_python, port=port,
                           places={"/shared/ravdess-16k": corpus, "/shared/calls": calls})
           for name, words in commands.items()}
    # The client's cache and the default model (predict names none) come from the environment.
    env = clean_env(SER_CACHE_DIR=str(tmp_path / "client-cache"), SER_ARTIFACTS_DIR=str(adaptive_models))

    with started({"scheduler": run["scheduler"], "worker": run["worker"]}, cwd=work, env=env, logs=tmp_path / "logs"):
        address = f"tcp://127.0.0.1:{port}"
        wait_for_workers(address, 2)
        features = subprocess.run(run["features"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert features.returncode == 0, features.stderr
        predict = subprocess.run(run["predict"], cwd=work, env=env, capture_output=True, text=True, timeout=180)
        assert predict.returncode == 0, predict.stderr
        assert {"extract_batch", "predict_batch"} <= scheduler_task_names(address)

    kind = run["features"][run["features"].index("--kind") + 1]
    saved = np.load(work / f"{kind}.npz")
    paths = index_corpus(corpus).clips["path"].tolist()
    local = extract_clips(paths, spec=kind, cache=False, n_jobs=1)
    assert saved["paths"].tolist() == paths and not local.failures
    np.testing.assert_allclose(saved["features"], local.X, atol=1e-5)
    ours = [json.loads(line) for line in predict.stdout.splitlines()]
    model = load_model(adaptive_models / TINY_ADAPTIVE_MODEL)
    assert len(ours) == 4
    assert_same_records(ours, list(iter_predictions([calls], model, scheduler=LOCAL)))
