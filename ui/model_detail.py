"""One model under one protocol in detail: figures, best and worst emotion, confusion matrix, report, card."""

import pandas as pd
import streamlit as st

from ser_core.formatting import number, percent
from ser_core.reporting import charts
from ui import hosting, tables, widgets


def option_label(table: pd.DataFrame, option) -> str:
    """``name · protocol title`` of one (model, protocol) option."""
    name, protocol = option
    match = table[(table["name"] == name) & (table["protocol"] == protocol)].iloc[0]
    return f"{name} · {match['protocol_title']}"


def render_detail(artifacts: pd.DataFrame, option, *, key: str, compact: bool = False) -> None:
    """Figures, best/worst emotion, confusion matrix, per-class report and card of one model and protocol."""
    name, protocol = option
    artifact = artifacts[artifacts["name"] == name].iloc[0]
    result = artifact["metrics"].protocols[protocol]
    cols = st.columns(3)
    cols[0].metric("Accuracy", percent(result.mean("accuracy")),
                   help=f"± {percent(result.std('accuracy'))} over folds" if result.std("accuracy") else None)
    cols[1].metric("UAR", percent(result.mean("uar")))
    cols[2].metric("Macro F1", number(result.mean("macro_f1"), decimals=3))
    st.caption(result.explanation)
    evaluation = result.evaluation()
    if evaluation is None:
        st.info("This model folder has no per-class evaluation.")
        return
    best_label, worst_label = evaluation["best_emotion"], evaluation["worst_emotion"]
    st.markdown(f"Best recognised {widgets.emotion_chip(best_label)} "
                f"(recall {evaluation['per_class'][best_label]['recall']:.0%}); worst "
                f"{widgets.emotion_chip(worst_label)} (recall {evaluation['per_class'][worst_label]['recall']:.0%})",
                unsafe_allow_html=True)
    title = name if compact else f"{name}, {result.title}"
    widgets.chart(charts.confusion(evaluation["confusion"], labels=evaluation["labels"], title=title),
                  key=f"confusion_{key}")
    report_table = pd.DataFrame(evaluation["per_class"]).T.rename_axis("emotion").reset_index()
    for column in ("precision", "recall", "f1"):
        report_table[column] = report_table[column].map(lambda v: f"{v:.2f}")
    st.dataframe(report_table, hide_index=True, width="stretch")
    card = tables.model_card(artifact["path"])
    if card:
        with st.expander("Model card"):
            st.markdown(hosting.redact(card))
