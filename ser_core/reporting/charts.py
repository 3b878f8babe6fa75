"""Plotly figure builders shared by the pages; every emotion keeps one colour everywhere.

House rules every builder follows: axis titles on both axes (or no axis at all),
percentages on round ticks (0%, 25%, ...), whole-number ticks where only whole numbers
mean anything (epochs, clips), legends below the plot so phones keep the plot wide, and
no colour that Streamlit's chart theme would repaint (it treats ``#000001``..``#000040``
as placeholders: Plotly's Magma and Inferno scales start at ``#000004``, which made
silence in spectrograms look like loud sound).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ser_core.data.labels import ALL_EMOTIONS, label_colors, label_order
from ser_core.errors import InputError

_FALLBACK_COLOR = "#4c5566"
_LAYOUT = dict(margin=dict(l=10, r=10, t=48, b=10), template="plotly_white")
_LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0, title=None)
_PERCENT_TICKS = dict(tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1.0])
#: Streamlit repaints these "placeholder" colours with its theme's; never use them.
_PLACEHOLDER = re.compile(r"^#0000(0[1-9]|[1-3][0-9]|40)$", re.IGNORECASE)
#: 24 distinguishable colours for speakers (Plotly's Dark24), so 20 actors never share one.
SPEAKER_COLORS = px.colors.qualitative.Dark24


def safe_colorscale(name: str) -> list:
    """A named Plotly colorscale as explicit stops, with Streamlit's placeholder colours replaced by black."""
    import plotly.colors

    stops = []
    for position, color in plotly.colors.get_colorscale(name):
        stops.append([position, "#000000" if _PLACEHOLDER.match(str(color).strip()) else color])
    return stops


def emotion_palette(labels: Sequence[str] = ALL_EMOTIONS) -> dict[str, str]:
    """Map each label to its colour (:func:`ser_core.data.labels.label_colors`: emotions fixed, others stable)."""
    return label_colors(labels)


def emotion_order(labels: Sequence[str]) -> list[str]:
    """Sort labels in the shared display order (RAVDESS codes first, others after)."""
    return label_order(labels)


#: Timeline columns that are not a label's probability.
TIMELINE_COLUMNS = ("time_s", "start_s", "end_s", "label", "error")


def probability_columns(timeline: pd.DataFrame) -> list[str]:
    """The label columns of a timeline table (any label set), in display order."""
    return emotion_order([c for c in timeline.columns if c not in TIMELINE_COLUMNS])


def _finish(fig: go.Figure, *, title: str, height: int | None = None) -> go.Figure:
    fig.update_layout(title=title, **_LAYOUT)
    if height is not None:
        fig.update_layout(height=height)
    return fig


def counts_bar(counts: pd.Series, *, title: str, by_emotion: bool = False, category: str = "category") -> go.Figure:
    """Bar chart of clip counts (index = category); emotion bars use the emotion colours."""
    frame = counts.rename_axis("category").reset_index(name="clips")
    frame["category"] = frame["category"].astype(str)
    if by_emotion:
        order = emotion_order(frame["category"])
        fig = px.bar(frame, x="category", y="clips", color="category", color_discrete_map=emotion_palette(order),
                     category_orders={"category": order}, text="clips")
        fig.update_layout(showlegend=False)
    else:
        fig = px.bar(frame, x="category", y="clips", text="clips", color_discrete_sequence=[_FALLBACK_COLOR])
    fig.update_xaxes(title=category, type="category")
    fig.update_yaxes(title="clips", tickformat=",d")
    return _finish(fig, title=title, height=320)


def duration_histogram(clips: pd.DataFrame, *, title: str = "Clip durations") -> go.Figure:
    """Stacked histogram of clip durations in seconds, coloured by label."""
    order = emotion_order(clips["label"])
    fig = px.histogram(clips, x="duration_s", color="label", nbins=40, color_discrete_map=emotion_palette(order),
                       category_orders={"label": order})
    fig.update_xaxes(title="duration (s)")
    fig.update_yaxes(title="clips", tickformat=",d")
    fig.update_layout(legend=_LEGEND_BELOW)
    return _finish(fig, title=title, height=360)


def _envelope(y: np.ndarray, *, max_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max per display bucket so a long clip plots as its true envelope."""
    n_buckets = max(1, min(len(y), max_points))
    edges = np.linspace(0, len(y), n_buckets + 1).astype(int)
    starts = edges[:-1]
    lows = np.minimum.reduceat(y, starts) if len(y) else np.zeros(0)
    highs = np.maximum.reduceat(y, starts) if len(y) else np.zeros(0)
    return starts, lows, highs


def waveform(y: np.ndarray, *, sample_rate: int, title: str = "Waveform",
             color: str = _FALLBACK_COLOR, max_points: int = 3000) -> go.Figure:
    """Waveform envelope over time (seconds), decimated to at most ``max_points`` buckets."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    starts, lows, highs = _envelope(y, max_points=max_points)
    t_s = starts / float(sample_rate)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t_s, y=highs, mode="lines", line=dict(width=0.8, color=color), name="max",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t_s, y=lows, mode="lines", line=dict(width=0.8, color=color), fill="tonexty",
                             name="min", hoverinfo="skip"))
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title="time (s)")
    fig.update_yaxes(title="amplitude")
    return _finish(fig, title=title, height=220)


def heatmap(matrix: np.ndarray, *, title: str, hop_s: float | None = None, y_title: str = "coefficient",
            colorscale: str = "Magma", z_title: str = "", zmin: float | None = None, zmax: float | None = None) -> go.Figure:
    """Heatmap of a (rows, frames) matrix, frames on the x axis in seconds when ``hop_s`` is given."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise InputError(f"heatmap needs a 2-D (rows, frames) matrix, got shape {matrix.shape}")
    x = np.arange(matrix.shape[1]) * hop_s if hop_s else np.arange(matrix.shape[1])
    fig = go.Figure(go.Heatmap(z=matrix, x=x, y=np.arange(matrix.shape[0]), colorscale=safe_colorscale(colorscale),
                               zmin=zmin, zmax=zmax, colorbar=dict(title=z_title)))
    fig.update_xaxes(title="time (s)" if hop_s else "frame")
    fig.update_yaxes(title=y_title)
    return _finish(fig, title=title, height=280)


def mel_spectrogram(mel_db: np.ndarray, *, hop_s: float, title: str = "Mel spectrogram") -> go.Figure:
    """A mel spectrogram in dB below the clip's loudest point: silence (-80 dB) black, loud bright."""
    return heatmap(mel_db, title=title, hop_s=hop_s, y_title="mel band", colorscale="Magma",
                   z_title="dB", zmin=-80.0, zmax=0.0)


def feature_vector(vector: np.ndarray, *, block_names: Sequence[str],
                   title: str = "The 160-value clip vector") -> go.Figure:
    """Bar chart of a clip vector split into equally long named blocks (e.g. MFCC, Δ, ΔΔ, mel)."""
    vector = np.asarray(vector, dtype=float).reshape(-1)
    n_blocks = len(block_names)
    if n_blocks == 0 or len(vector) % n_blocks:
        raise InputError(f"a vector of {len(vector)} values does not split into "
                         f"{n_blocks} equal blocks {list(block_names)}")
    size = len(vector) // n_blocks
    frame = pd.DataFrame({"index": np.arange(len(vector)), "value": vector,
                          "block": np.repeat(list(block_names), size)})
    fig = px.bar(frame, x="index", y="value", color="block", color_discrete_sequence=px.colors.qualitative.Safe)
    fig.update_traces(marker_line_width=0)
    fig.update_layout(bargap=0, legend=_LEGEND_BELOW)
    fig.update_xaxes(title="position in the vector", tickformat="d")
    fig.update_yaxes(title="value (time mean)", tickformat=".0f")
    return _finish(fig, title=title, height=320)


def probabilities(probs: Mapping[str, float], *, title: str = "Model score per emotion",
                  axis_title: str = "score (calibrated probability)") -> go.Figure:
    """Horizontal score bars in the shared emotion order and colours."""
    order = emotion_order(list(probs))
    frame = pd.DataFrame({"emotion": order, "score": [float(probs[e]) for e in order]})
    fig = px.bar(frame, y="emotion", x="score", color="emotion", orientation="h",
                 color_discrete_map=emotion_palette(order), category_orders={"emotion": order},
                 text=frame["score"].map(lambda p: f"{p:.0%}"))
    fig.update_layout(showlegend=False)
    fig.update_xaxes(range=[0, 1], title=axis_title, **_PERCENT_TICKS)
    fig.update_yaxes(title="emotion")
    return _finish(fig, title=title, height=330)


def emotion_timeline(timeline: pd.DataFrame, *, title: str = "Emotion over time", window_s: float | None = None) -> go.Figure:
    """Stacked score bars per window over time: one bar per segment, no interpolation between them.

    ``timeline`` has ``time_s`` (window centre) plus one column per emotion; bars are as
    wide as the step between windows (or ``window_s``).
    """
    emotions = probability_columns(timeline)
    palette = emotion_palette(emotions)
    times = np.asarray(timeline["time_s"], dtype=float)
    width = window_s or (float(np.median(np.diff(times))) if len(times) > 1 else 1.0)
    fig = go.Figure()
    for name in emotions:
        fig.add_trace(go.Bar(x=times, y=timeline[name], name=name, width=width * 0.95,
                             marker=dict(color=palette[name], line=dict(width=0))))
    fig.update_layout(barmode="stack", bargap=0, legend=_LEGEND_BELOW)
    fig.update_yaxes(range=[0, 1], title="score", **_PERCENT_TICKS)
    fig.update_xaxes(title="time (s)")
    return _finish(fig, title=title, height=340)


def confusion(matrix: np.ndarray, *, labels: Sequence[str], title: str = "Confusion matrix",
              normalize: bool = True) -> go.Figure:
    """Confusion-matrix heatmap (rows = true labels), row-normalised with counts in the cells."""
    counts = np.asarray(matrix, dtype=float)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    text = [[f"{int(c)}" for c in row] for row in counts]
    fig = go.Figure(go.Heatmap(z=shown, x=list(labels), y=list(labels), colorscale=safe_colorscale("Blues"),
                               text=text, texttemplate="%{text}", zmin=0, zmax=1 if normalize else None,
                               colorbar=dict(title="recall" if normalize else "clips", tickformat=".0%")))
    fig.update_xaxes(title="predicted", side="bottom", type="category")
    fig.update_yaxes(title="true", autorange="reversed", type="category")
    fig.update_layout(title=dict(text=title, font=dict(size=14)))
    return _finish(fig, title=title, height=420)


def accuracy_vs_latency(table: pd.DataFrame, *, title: str = "Accuracy against latency") -> go.Figure:
    """Scatter of accuracy against latency per 3-s clip; one marker per model on its headline protocol."""
    frame = table.dropna(subset=["accuracy", "latency_ms"])
    fig = px.scatter(frame, x="latency_ms", y="accuracy", color="name", symbol="protocol_title",
                     hover_name="name", hover_data={"uar": ":.1%", "accuracy": ":.1%", "latency_ms": ":.1f"})
    fig.update_traces(marker=dict(size=13, line=dict(width=1, color="white")))
    fig.update_xaxes(title="latency per 3-s clip (ms, log scale)", type="log",
                     tickvals=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
    fig.update_yaxes(title="accuracy", range=[0, 1.02], **_PERCENT_TICKS)
    fig.update_layout(legend=_LEGEND_BELOW)
    return _finish(fig, title=title, height=440)


def training_curves(history: pd.DataFrame, *, title: str = "Training curves") -> go.Figure:
    """Loss and accuracy per epoch (training and validation) on two y axes; whole epochs on x."""
    fig = go.Figure()
    styles = {"loss": ("#0072b2", "solid", "y"), "val_loss": ("#0072b2", "dash", "y"),
              "accuracy": ("#d55e00", "solid", "y2"), "val_accuracy": ("#d55e00", "dash", "y2")}
    names = {"loss": "training loss", "val_loss": "validation loss", "accuracy": "training accuracy",
             "val_accuracy": "validation accuracy"}
    for column, (color, dash, axis) in styles.items():
        if column in history and history[column].notna().any():
            fig.add_trace(go.Scatter(x=history["epoch"], y=history[column], name=names[column], mode="lines+markers",
                                     line=dict(color=color, dash=dash), yaxis=axis))
    fig.update_layout(yaxis=dict(title="loss"),
                      yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1], **_PERCENT_TICKS),
                      legend=_LEGEND_BELOW)
    last_epoch = int(history["epoch"].max()) if "epoch" in history and len(history) else 1
    fig.update_xaxes(title="epoch", tickformat="d", dtick=max(1, round(last_epoch / 10)))
    return _finish(fig, title=title, height=360)


def contours(frame: pd.DataFrame, *, title: str = "Pitch and energy", pitch_range: tuple | None = None) -> go.Figure:
    """Pitch (Hz, left axis) and energy (dB, right axis) over time; ``pitch_range`` fixes the pitch axis."""
    value_columns = [c for c in frame.columns if c != "time_s"]
    fig = go.Figure()
    palette = ["#7b3fa0", "#009e73", "#d55e00"]
    for i, column in enumerate(value_columns):
        fig.add_trace(go.Scatter(x=frame["time_s"], y=frame[column], name=column, mode="lines",
                                 line=dict(color=palette[i % len(palette)]), yaxis="y" if i == 0 else "y2"))
    layout = dict(yaxis=dict(title=value_columns[0] if value_columns else ""), legend=_LEGEND_BELOW)
    if pitch_range is not None:
        layout["yaxis"]["range"] = list(pitch_range)
    if len(value_columns) > 1:
        layout["yaxis2"] = dict(title=value_columns[1], overlaying="y", side="right", range=[-80, 0])
    fig.update_layout(**layout)
    fig.update_xaxes(title="time (s)")
    return _finish(fig, title=title, height=320)


def distribution(frame: pd.DataFrame, *, value: str, by: str = "label", title: str | None = None) -> go.Figure:
    """Box plot of one feature column grouped by label (or any other column)."""
    order = emotion_order(frame[by]) if by == "label" else sorted(frame[by].astype(str).unique())
    kwargs = dict(color_discrete_map=emotion_palette(order)) if by == "label" else {}
    fig = px.box(frame.assign(**{by: frame[by].astype(str)}), x=by, y=value, color=by,
                 category_orders={by: order}, points=False, **kwargs)
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title=by)
    fig.update_yaxes(title=value, tickformat=".3~g")
    return _finish(fig, title=title or f"{value} by {by}", height=360)


def embedding(frame: pd.DataFrame, *, color: str = "label", title: str = "Corpus map",
              axis_names: tuple[str, str] = ("component 1", "component 2")) -> go.Figure:
    """2-D scatter of a corpus projection (columns ``x``, ``y``) coloured by label, speaker, corpus or gender."""
    shown = frame.assign(**{color: frame[color].astype(str)})
    if color == "label":
        order = emotion_order(shown[color])
        kwargs = dict(color_discrete_map=emotion_palette(order), category_orders={color: order})
    else:
        kwargs = dict(category_orders={color: sorted(shown[color].unique())}, color_discrete_sequence=SPEAKER_COLORS)
    hover = [c for c in ("speaker", "label", "corpus", "intensity", "statement") if c in shown and c != color]
    fig = px.scatter(shown, x="x", y="y", color=color, hover_data=hover, **kwargs)
    fig.update_traces(marker=dict(size=6, opacity=0.8))
    fig.update_xaxes(title=axis_names[0], showticklabels=False)
    fig.update_yaxes(title=axis_names[1], showticklabels=False)
    fig.update_layout(legend=_LEGEND_BELOW)
    return _finish(fig, title=title, height=520)
