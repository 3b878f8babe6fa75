"""The Dataset explorer's leakage check and the Training page's leakage findings (rendering only).

The check itself is :func:`ser_core.data.leakage.leakage_report`, run through
:func:`ui.cache.leakage_report` so a second look is instant.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ser_core.data.duplicates import NEAR_DUPLICATE_CORRELATION
from ser_core.data.leakage import CLASS_IMBALANCE, SPEAKER_DOMINANCE, default_protocol

#: The splits the explorer can check, in words.
PROTOCOL_LABELS = {"kfold": "new speakers (k-fold by speaker)", "random": "the study's random 80/20 split",
                   "loco": "leave one corpus out (each corpus in turn)",
                   "manifest": "the manifest's own split column", "none": "the corpus alone (no split)"}
_SHOW = {"leak": st.error, "warning": st.warning, "note": st.info}
_ICONS = {"leak": ":material/report:", "warning": ":material/warning:", "note": ":material/info:"}


def n_folds(index) -> int:
    """Folds of the k-fold check: five, or one per known speaker when there are fewer."""
    speakers = index.clips["speaker"].astype(str)
    return max(2, min(5, speakers[speakers != "unknown"].nunique()))


def protocol_choices(index) -> list[str]:
    """The splits worth offering for a corpus, the most useful first."""
    first = default_protocol(index, n_folds=max(3, n_folds(index)))
    has_split = "split" in index.clips and index.clips["split"].notna().any()
    several = index.clips["corpus"].nunique() > 1
    options = [p for p in ("manifest", "kfold", "loco", "random", "none")
               if (p != "manifest" or has_split) and (p != "loco" or several)]
    return [first, *(p for p in options if p != first)]


def render_findings(findings) -> None:
    """One coloured box per finding (leaks first), duplicate pairs as a table."""
    order = {"leak": 0, "warning": 1, "note": 2}
    for finding in sorted(findings, key=lambda f: order[f.severity]):
        _SHOW[finding.severity](finding.message, icon=_ICONS[finding.severity])
        if finding.kind in ("exact_duplicates", "near_duplicates") and finding.details:
            st.dataframe(pd.DataFrame([{"clip": group[0], "same audio as": ", ".join(group[1:])}
                                       for group in finding.details]), hide_index=True, width="stretch")


def render_leakage_check(index, *, path, key: str = "leakage") -> None:
    """The "Leakage check" section: choose a split, run the check on demand, show what it found."""
    from ui import cache

    st.subheader("Leakage check")
    st.caption("Does anything the model trains on reappear in its test? Byte-identical and near-duplicate audio "
               f"(the same recording re-encoded or at another gain: fingerprint correlation ≥ "
               f"{NEAR_DUPLICATE_CORRELATION:g}) on both sides of the split, speakers on both sides, one speaker "
               f"holding more than {SPEAKER_DOMINANCE:.0%} of a class, classes more than {CLASS_IMBALANCE:g}× apart.")
    choices = protocol_choices(index)
    if st.session_state.get(f"{key}_corpus") != str(path):  # another corpus: start from its own default split
        st.session_state[f"{key}_corpus"] = str(path)
        st.session_state.pop(f"{key}_protocol", None)
    cols = st.columns([3, 1])
    protocol = cols[0].selectbox("Split to check", choices, format_func=PROTOCOL_LABELS.get, key=f"{key}_protocol")
    if cols[1].button("Check for leakage", key=f"{key}_run", icon=":material/search:"):
        st.session_state[f"{key}_requested"] = str(path)
    if st.session_state.get(f"{key}_requested") != str(path):
        st.caption("The first check fingerprints every clip (about 30 s per 1,000 clips); later ones are quick.")
        return
    from ui.widgets import shown_errors

    with shown_errors("Cannot check this split") as guard:
        report = cache.leakage_report(str(path), protocol=None if protocol == "none" else protocol,
                                      n_folds=n_folds(index))
    if guard.failed:
        return
    cols = st.columns(4)
    cols[0].metric("Leaks", len(report.leaks))
    cols[1].metric("Byte-identical groups", len(report.exact_duplicates))
    cols[2].metric("Near-duplicate pairs", len(report.near_duplicates))
    cols[3].metric("Speakers on both sides", max((len(s["speakers"]) for s in report.shared_speakers), default=0))
    if report.ok:
        st.success(f"No leak found for {PROTOCOL_LABELS[protocol]}.", icon=":material/verified:")
    render_findings(report.findings)


def render_training_findings(history) -> None:
    """The leaks and warnings the leakage check reported before a training run (nothing when it found none)."""
    records = [record for record in history if record.get("stage") == "leakage check"]
    if not records:
        return
    seen = set()
    for finding in records[-1].get("findings", []):
        if finding["severity"] == "note" or finding["message"] in seen:
            continue
        seen.add(finding["message"])
        # Training goes on after a leak (unless told to stop): a warning, not an error.
        st.warning(f"Leakage check ({finding['protocol']}): {finding['message']}", icon=_ICONS[finding["severity"]])
