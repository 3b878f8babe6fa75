"""Who may do what on this server: public mode (an anonymous demo) or local mode (your own machine).

Public mode is the default for any server that listens beyond the loopback interface, so a
deploy with no settings at all (Streamlit Community Cloud) is safe: no visitor types a
server path, sees another visitor's files or jobs, writes into the shared models folder,
or takes more than a bounded share of the CPU. Local mode (any folder, any download
location, every model family) is turned on with ``SER_MODE=local`` or by binding the
server to a loopback address (``streamlit run app.py --server.address localhost``);
``SER_MODE=public`` forces public mode anywhere.

Every setting, with its default (public / local):

=============================  ===================================================  =====================
``SER_MODE``                   ``public`` or ``local``                              by the bound address
``SER_DATA_DIR``               the operator's corpus (folder or zip)                none
``SER_DOWNLOAD_DIR``           where the official RAVDESS download goes             ~/ser_studio_data/ravdess
``SER_SCRATCH_DIR``            visitors' private scratch (uploads, their models)    <tmp>/ser_studio_scratch
``SER_SCRATCH_TTL_S``          a scratch folder unused this long is deleted          7200 s
``SER_MAX_RUNNING_JOBS``       trainings running at once, server-wide                1 / 1
``SER_MAX_QUEUED_PER_VISITOR`` trainings one visitor may have waiting or running     1 / 10
``SER_MAX_EPOCHS``             epochs of one training                                30 / 500
``SER_MAX_FOLDS``              folds of one k-fold run                               5 / 20
``SER_MAX_AUGMENT``            augmented copies per training clip                    2 / 16
``SER_JOB_TIMEOUT_S``          wall-clock limit of one training (0: none)            900 s / none
``SER_MAX_LONG_CLIPS``         long recordings analysed at once on Predict           1 / 1
``SER_MAX_LONG_CLIPS_WAITING`` long recordings waiting for their turn                8 / 8
``SER_CACHE_MB``               memory for cached audio, features, models (MB)      512 / 512
``SER_ZIP_MAX_BYTES`` ...      zip caps (:class:`ser_core.data.archive.ZipLimits`)  1 GiB / 4 GiB
=============================  ===================================================  =====================
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

PUBLIC, LOCAL = "public", "local"
MODE_ENV = "SER_MODE"
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
#: Model families that train in minutes on 2 cores: the only ones offered in public mode.
PUBLIC_MODELS = ("logistic_regression", "svm", "random_forest", "mlp", "adaptive_linear", "cnn", "cnn_lstm")
#: Feature kinds offered in public mode (Wav2Vec2 needs a model download; log-mel feeds the slow CNN).
PUBLIC_FEATURE_PREFIXES = ("MFCC-", "FRAMES-", "EGEMAPS-", "COMPARE-")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(float(raw)) if raw else default
    except ValueError:
        return default


def mode() -> str:
    """``"public"`` or ``"local"`` (see the module docstring)."""
    configured = os.environ.get(MODE_ENV, "").strip().lower()
    if configured in (PUBLIC, LOCAL):
        return configured
    try:
        import streamlit as st

        address = st.get_option("server.address")
    except Exception:  # no Streamlit runtime (a script, a test): the safe answer
        address = None
    return LOCAL if address and str(address).strip() in LOOPBACK else PUBLIC


def is_public() -> bool:
    """True in public mode."""
    return mode() == PUBLIC


@dataclass(frozen=True)
class Policy:
    """What this server allows (the settings of the module docstring, resolved for the current mode)."""

    mode: str
    max_running_jobs: int
    max_queued_per_visitor: int
    max_epochs: int
    max_folds: int
    max_augment: int
    job_timeout_s: int
    models: tuple | None  # None: every model family
    max_long_clips: int = 1
    max_long_clips_waiting: int = 8

    @property
    def public(self) -> bool:
        return self.mode == PUBLIC

    def allows_model(self, name: str) -> bool:
        """Whether a model family may be trained here."""
        return self.models is None or name in self.models

    def allows_features(self, kind: str) -> bool:
        """Whether a feature kind may be used for training here."""
        return not self.public or str(kind).upper().startswith(PUBLIC_FEATURE_PREFIXES)


def policy() -> Policy:
    """The current mode's limits, with any environment overrides."""
    current = mode()
    public = current == PUBLIC
    return Policy(
        mode=current,
        max_running_jobs=max(1, _env_int("SER_MAX_RUNNING_JOBS", 1)),
        max_queued_per_visitor=max(1, _env_int("SER_MAX_QUEUED_PER_VISITOR", 1 if public else 10)),
        max_epochs=max(1, _env_int("SER_MAX_EPOCHS", 30 if public else 500)),
        max_folds=max(2, _env_int("SER_MAX_FOLDS", 5 if public else 20)),
        max_augment=max(0, _env_int("SER_MAX_AUGMENT", 2 if public else 16)),
        job_timeout_s=max(0, _env_int("SER_JOB_TIMEOUT_S", 900 if public else 0)),
        models=PUBLIC_MODELS if public else None,
        max_long_clips=max(1, _env_int("SER_MAX_LONG_CLIPS", 1)),
        max_long_clips_waiting=max(0, _env_int("SER_MAX_LONG_CLIPS_WAITING", 8)),
    )


def zip_limits():
    """Zip caps for this mode: public mode keeps uploads to 1 GiB unpacked unless the operator says otherwise."""
    from ser_core.data.archive import GIB, ZipLimits

    limits = ZipLimits.from_env()
    if is_public():
        limits = replace(limits, operator_hints=False,
                         max_total_bytes=limits.max_total_bytes if os.environ.get("SER_ZIP_MAX_BYTES") else GIB)
    return limits


def hide_error_details() -> str:
    """Keep uncaught exceptions' messages and tracebacks off visitors' screens in public mode; return the setting.

    Sets Streamlit's ``client.showErrorDetails`` (settable from a script) to ``"none"`` in
    public mode: a visitor sees Streamlit's generic "this app has encountered an error"
    while the exception and its traceback go to the server log. Local mode shows them in
    full. ``.streamlit/config.toml`` says ``"none"`` too, for anything that fails before a
    page has called this.
    """
    import streamlit as st

    value = "none" if is_public() else "full"
    if st.get_option("client.showErrorDetails") != value:
        st.set_option("client.showErrorDetails", value)
    return value


# ---------------------------------------------------------------- visitors

def _session_id() -> str | None:
    """The id of the browser session running this script (None outside a script run, e.g. in a worker thread)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
    except Exception:
        return None
    session = re.sub(r"[^A-Za-z0-9_-]", "", ctx.session_id)[:64] if ctx is not None else ""
    return session or None


def visitor_id() -> str:
    """This browser session's id in public mode; ``"local"`` in local mode (everyone on your machine is you).

    Raises
    ------
    SERError
        In public mode outside a browser session: nobody to give an identity (or a scratch area) to.
    """
    if not is_public():
        return LOCAL
    session = _session_id()
    if session is None:
        from ser_core.errors import SERError

        raise SERError("no browser session: in public mode only a visitor's own session has an identity and "
                       "a scratch area (called from a script or a background thread?)")
    return session


def scratch_root() -> Path:
    """The folder of every visitor's scratch area (``$SER_SCRATCH_DIR``)."""
    configured = os.environ.get("SER_SCRATCH_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path(tempfile.gettempdir()) / "ser_studio_scratch"


def scratch_dir(kind: str = "") -> Path:
    """This visitor's private folder (``uploads``, ``corpora``, ``models``, ...), created and marked as used now.

    Raises SERError outside a browser session in public mode (:func:`visitor_id`): there is no
    shared fallback folder, so nothing one caller writes can be read by another.
    """
    visitor = scratch_root() / visitor_id()
    folder = visitor / kind if kind else visitor
    folder.mkdir(parents=True, exist_ok=True)
    os.utime(visitor)
    return folder


def models_dir() -> Path:
    """Where this visitor's trainings save their models: the shared models folder in local mode, scratch in public."""
    from ser_core.modelfolder.read import artifacts_root

    return scratch_dir("models") if is_public() else artifacts_root()


def _active_sessions() -> set[str] | None:
    try:
        from streamlit.runtime import get_instance

        manager = get_instance()._session_mgr
        return {info.session.id for info in manager.list_active_sessions()}
    except Exception:
        return None


def sweep_scratch(*, ttl_s: float | None = None) -> list[Path]:
    """Delete scratch folders of visitors whose session ended, or that went unused longer than the TTL."""
    root = scratch_root()
    if not root.is_dir():
        return []
    ttl_s = _env_int("SER_SCRATCH_TTL_S", 7200) if ttl_s is None else ttl_s
    active = _active_sessions()
    removed = []
    for folder in root.iterdir():
        try:
            idle_s = time.time() - folder.stat().st_mtime
        except OSError:
            continue
        ended = active is not None and folder.name not in active and folder.name != LOCAL and idle_s > 60
        if ended or idle_s > ttl_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# ---------------------------------------------------------------- what a visitor may see

#: Settings whose values (addresses, URLs, credentials) a message must never repeat to a visitor.
_HIDDEN_SETTING = re.compile(r"SER_\w*(URLS?|USERNAME|CREDENTIAL|SCHEDULER|ICE_SERVERS)|\w*(TOKEN|SECRET|KEY_ID|SID)")


def _hidden_setting_values() -> list[tuple[str, str]]:
    """(value, setting name) of every set hidden setting, and of each comma-separated part, longest first."""
    pairs = []
    for name, value in os.environ.items():
        if _HIDDEN_SETTING.fullmatch(name) and len(value.strip()) >= 6:
            parts = [value.strip(), *(part for part in re.split(r"[\s,]+", value) if len(part) >= 6)]
            pairs += [(part, name) for part in parts]
    return sorted(set(pairs), key=lambda pair: -len(pair[0]))


def redact(text: str) -> str:
    """In public mode, replace server paths in a message by what they are (a corpus, an upload, a model).

    The values of address and credential settings (``SER_*_URL(S)``, ``SER_TURN_*``,
    ``SER_DASK_SCHEDULER``, ``*_TOKEN``, ...) become the setting's name.
    """
    if not is_public():
        return text
    from ser_core.modelfolder.read import artifacts_root

    replacements = [(str(scratch_root()), "<your upload>"), (str(artifacts_root()), "<models>"),
                    (str(Path(__file__).resolve().parents[1]), "<app>"), (tempfile.gettempdir(), "<temp>"),
                    (str(Path.home()), "<home>")]
    data = os.environ.get("SER_DATA_DIR", "").strip()
    if data:
        replacements.insert(0, (str(Path(data).expanduser()), "<corpus>"))
    for path, name in sorted(replacements, key=lambda item: -len(item[0])):
        if path and path != "/":
            text = text.replace(path, name)
    for value, name in _hidden_setting_values():
        text = text.replace(value, f"<{name}>")
    return re.sub(r"(?:^|(?<=[\s'\"(=]))/(?:[\w.@+-]+/)+[\w.@+-]*", "<path>", text)
