"""ui.hosting: public or local mode, the limits of each, visitors' scratch areas, and redacted messages."""

import os
import time

import pytest

from ui import hosting


@pytest.mark.parametrize(("env", "address", "expected"), [
    ("", None, "public"),              # Community Cloud: no settings at all
    ("", "0.0.0.0", "public"),
    ("", "localhost", "local"),        # the README's local command
    ("", "127.0.0.1", "local"),
    ("local", None, "local"),
    ("public", "localhost", "public"),  # forced
    ("LOCAL", "0.0.0.0", "local"),
])
def test_mode(monkeypatch, env, address, expected):
    import streamlit as st

    monkeypatch.setenv("SER_MODE", env)
    monkeypatch.setattr(st, "get_option", lambda name: address if name == "server.address" else None)
    assert hosting.mode() == expected


def test_public_limits_and_their_settings(monkeypatch):
    monkeypatch.setenv("SER_MODE", "public")
    for name in ("SER_MAX_EPOCHS", "SER_JOB_TIMEOUT_S", "SER_MAX_QUEUED_PER_VISITOR"):
        monkeypatch.delenv(name, raising=False)
    policy = hosting.policy()
    assert (policy.max_running_jobs, policy.max_queued_per_visitor, policy.max_epochs, policy.job_timeout_s) == (1, 1, 30, 900)
    assert policy.allows_model("cnn") and not policy.allows_model("logmel_cnn") and not policy.allows_model("lstm")
    assert policy.allows_features("MFCC-16000-40") and not policy.allows_features("W2V2-mean-all")
    monkeypatch.setenv("SER_MAX_EPOCHS", "10")
    assert hosting.policy().max_epochs == 10
    monkeypatch.setenv("SER_MODE", "local")
    local = hosting.policy()
    assert local.allows_model("logmel_cnn") and local.allows_features("W2V2-mean-all") and local.job_timeout_s == 0


def test_each_visitor_has_a_scratch_area_that_is_swept(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_SCRATCH_DIR", str(tmp_path))
    monkeypatch.setattr(hosting, "_session_id", lambda: "session-a")
    models = hosting.models_dir()
    assert models == tmp_path / "session-a" / "models" and models.is_dir()
    old = tmp_path / "someone-else"
    old.mkdir()
    stale = time.time() - 3 * 3600
    os.utime(old, (stale, stale))
    removed = hosting.sweep_scratch(ttl_s=7200)
    assert old in removed and not old.exists() and models.is_dir()


def test_no_session_no_scratch_in_public_mode(monkeypatch, tmp_path):
    """A script or a background thread has no browser session: it gets no identity and no shared fallback folder."""
    from ser_core.errors import SERError

    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_SCRATCH_DIR", str(tmp_path))
    for needs_a_session in (hosting.visitor_id, hosting.scratch_dir, hosting.models_dir):
        with pytest.raises(SERError, match="no browser session"):
            needs_a_session()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("SER_MODE", "local")
    assert hosting.visitor_id() == "local" and hosting.scratch_dir("uploads") == tmp_path / "local" / "uploads"


def test_local_mode_trains_into_the_shared_models_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_MODE", "local")
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    assert hosting.visitor_id() == "local" and hosting.models_dir() == tmp_path / "artifacts"


def test_public_messages_name_no_server_path(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_SCRATCH_DIR", str(tmp_path / "scratch"))
    monkeypatch.setenv("SER_DATA_DIR", "/srv/corpora/ravdess")
    text = (f"could not decode '{tmp_path}/scratch/abc/corpora/x/a.wav': not audio; "
            "see /srv/corpora/ravdess/Actor_01/b.wav and /etc/shadow")
    redacted = hosting.redact(text)
    assert "/srv" not in redacted and str(tmp_path) not in redacted and "/etc" not in redacted
    assert "<your upload>" in redacted and "<corpus>" in redacted
    monkeypatch.setenv("SER_MODE", "local")
    assert hosting.redact(text) == text


def test_public_messages_never_repeat_a_settings_value(monkeypatch):
    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_DASK_SCHEDULER", "tcp://10.1.2.3:8786")
    monkeypatch.setenv("SER_STUN_URLS", "stun:a.internal.example, bogus://b.internal.example")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefgh")
    text = ("no scheduler answers at tcp://10.1.2.3:8786; bogus://b.internal.example is not a STUN URL; "
            "token hf_abcdefgh refused")
    redacted = hosting.redact(text)
    assert "10.1.2.3" not in redacted and "internal" not in redacted and "hf_abc" not in redacted, redacted
    assert "<SER_DASK_SCHEDULER>" in redacted and "<SER_STUN_URLS>" in redacted and "<HF_TOKEN>" in redacted
