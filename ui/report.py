"""The stakeholder report as a download on the Model comparison page."""

from __future__ import annotations

import pandas as pd
import streamlit as st


@st.cache_data(show_spinner="Writing the report…", max_entries=4, ttl=600)
def dashboard_report(table: pd.DataFrame, default_name: str | None) -> bytes:
    """The HTML report (:func:`ser_core.report.report_html`) of the models in ``table`` (cached ten minutes)."""
    from ser_core.report import report_html
    from ui import widgets

    names = set(table["name"])
    artifacts = [a for a in widgets.available_models().to_dict("records") if a["name"] in names]
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return report_html(rows, artifacts, default_name=default_name).encode("utf-8")
