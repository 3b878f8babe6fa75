"""Plotly figure builders shared by the pages; every emotion keeps one colour everywhere.

House rules every builder follows: axis titles on both axes (or no axis at all; emotion
bars named by their own labels need none),
percentages on round ticks (0%, 25%, ...), whole-number ticks where only whole numbers
mean anything (epochs, clips), legends below the plot so phones keep the plot wide,
titles wrapped so a phone does not clip them, text and ticks in :data:`TEXT_COLOR`
(12.6:1 on white; Streamlit's default grey is 3.7:1), a marker symbol or pattern beside
the colour wherever colour alone would tell emotions apart, and no colour that
Streamlit's chart theme would repaint (it treats ``#000001``..``#000040`` as
placeholders: Plotly's Magma and Inferno scales start at ``#000004``, which made silence
in spectrograms look like loud sound).

Every builder also leaves a one-line text alternative in ``fig.layout.meta["alt"]``
(:func:`text_alternative`), which the pages print under the chart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from ser_core.data.labels import ALL_EMOTIONS, FALLBACK_COLORS, label_colors, label_order
from ser_core.errors import InputError
from ser_core.formatting import percent

# plotly.express (about 0.2 s to import) is imported by the builders that use it: Home draws none of them.
_FALLBACK_COLOR = "#4c5566"
#: Text, tick and axis-title colour of every chart (12.6:1 on white).
TEXT_COLOR = "#31333f"
# Every figure names its template: Streamlit makes its own (with placeholder colours) the default once it
# draws a chart, and a figure the report embeds must not carry those.
_LAYOUT = dict(margin=dict(l=10, r=10, b=10), font=dict(color=TEXT_COLOR), template="plotly_white")
#: Titles longer than this many characters are wrapped onto a second line (a phone shows about 45).
TITLE_WIDTH = 42
#: Marker symbols for the emotions of a map, in display order, so no point is told apart by colour alone.
EMOTION_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down",
                   "hexagon", "pentagon")
#: Bar patterns for the emotions of a stacked histogram, in display order.
EMOTION_PATTERNS = ("", "/", "\\", "x", "-", "|", "+", ".", "", "/")
#: Colours for model names (colour-blind safe first), the same for a model in every chart and the report.
MODEL_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#999999",
                *FALLBACK_COLORS)
_LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0, title=None)
_PERCENT_TICKS = dict(tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1.0])
#: Streamlit repaints these "placeholder" colours with its theme's; never use them.
_PLACEHOLDER = re.compile(r"^#0000(0[1-9]|[1-3][0-9]|40)$", re.IGNORECASE)
#: 24 distinguishable colours for speakers (Plotly's Dark24), so 20 actors never share one.
SPEAKER_COLORS = plotly.colors.qualitative.Dark24


def safe_colorscale(name: str) -> list:
    """A named Plotly colorscale as explicit stops, with Streamlit's placeholder colours replaced by black."""
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


def model_colors(names: Sequence[str]) -> dict[str, str]:
    """``{model name: colour}``: each name keeps the colour its text hashes to (the next free one on a clash).

    The same models get the same colours on every page and in the report, whatever order they come in.
    """
    import hashlib

    colors, taken = {}, set()
    for name in sorted({str(name) for name in names}):
        slot = int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest(), "big") % len(MODEL_COLORS)
        for step in range(len(MODEL_COLORS)):
            if (slot + step) % len(MODEL_COLORS) not in taken:
                slot = (slot + step) % len(MODEL_COLORS)
                break
        taken.add(slot)
        colors[name] = MODEL_COLORS[slot]
    return {str(name): colors[str(name)] for name in names}


def text_alternative(fig: go.Figure) -> str:
    """The one-line description a builder left for people who cannot see the chart (its title when none)."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    title = fig.layout.title.text or "Chart"
    return str(meta.get("alt") or title.replace("<br>", " "))


def _wrapped(title: str, *, width: int = TITLE_WIDTH) -> str:
    """The title with ``<br>`` between words so no line is longer than ``width`` characters (when it can).

    Plotly reads tags in a title (``<a href=...>`` makes a link), and titles carry visitors' file
    names: every word is HTML-escaped, so the title shows exactly what was typed.
    """
    lines, line = [], ""
    for word in html.escape(str(title), quote=False).split():  # &amp; &lt; &gt;: entities Plotly decodes
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def _alt(fig: go.Figure, text: str) -> go.Figure:
    fig.update_layout(meta={"alt": text})
    return fig


def probability_columns(timeline: pd.DataFrame) -> list[str]:
    """The label columns of a timeline table (any label set), in display order."""
    return emotion_order([c for c in timeline.columns if c not in TIMELINE_COLUMNS])


def _finish(fig: go.Figure, *, title: str, height: int | None = None) -> go.Figure:
    """Title (wrapped), margins, dark text on every axis and the legend, height; one layout update (they are slow)."""
    text = _wrapped(title)
    lines = text.count("<br>") + 1
    axis = dict(color=TEXT_COLOR, tickfont=dict(color=TEXT_COLOR), title=dict(font=dict(color=TEXT_COLOR)))
    layout = {**_LAYOUT, "title": dict(text=text, font=dict(size=15, color=TEXT_COLOR)),
              "margin": dict(_LAYOUT["margin"], t=30 + 20 * lines), "legend": dict(font=dict(color=TEXT_COLOR))}
    for name in fig.layout:  # every x and y axis the figure has (xaxis, yaxis, yaxis2, ...)
        if name.startswith(("xaxis", "yaxis")):
            layout[name] = axis
    layout.setdefault("xaxis", axis)
    layout.setdefault("yaxis", axis)
    if height is not None:
        layout["height"] = height + 20 * (lines - 1)
    if not (isinstance(fig.layout.meta, dict) and fig.layout.meta.get("alt")):
        layout["meta"] = {"alt": str(title)}
    fig.update_layout(layout)
    return fig


def counts_bar(counts: pd.Series, *, title: str, by_emotion: bool = False, category: str = "category") -> go.Figure:
    """Bar chart of clip counts (index = category); emotion bars use the emotion colours, one trace per emotion."""
    frame = counts.rename_axis("category").reset_index(name="clips")
    frame["category"] = frame["category"].astype(str)
    counts_of = dict(zip(frame["category"], frame["clips"]))
    order = emotion_order(frame["category"]) if by_emotion else list(frame["category"])
    fig = go.Figure()  # plain graph objects: plotly express takes about 0.2 s a chart here
    # Counts above the bars in dark text: white on a light bar (happy's yellow) would not read.
    text = dict(textposition="outside", cliponaxis=False, textfont=dict(color=TEXT_COLOR))
    if by_emotion:
        palette = emotion_palette(order)
        for name in order:
            fig.add_trace(go.Bar(x=[name], y=[counts_of[name]], name=name, text=[counts_of[name]],
                                 marker_color=palette[name], **text))
        fig.update_layout(showlegend=False, barmode="overlay")
    else:
        fig.add_trace(go.Bar(x=order, y=[counts_of[name] for name in order], text=[counts_of[name] for name in order],
                             marker_color=_FALLBACK_COLOR, name="clips", **text))
    fig.update_xaxes(title=category, type="category", categoryorder="array", categoryarray=order)
    fig.update_yaxes(title="clips", tickformat=",d", range=[0, max(1, frame["clips"].max()) * 1.15])
    _alt(fig, f"{title}: " + ", ".join(f"{name} {counts_of[name]:,}" for name in order))
    return _finish(fig, title=title, height=320)


def duration_histogram(clips: pd.DataFrame, *, title: str = "Clip durations", n_bins: int = 40) -> go.Figure:
    """Stacked histogram of clip durations in seconds, coloured and patterned by label (one trace per label)."""
    order = emotion_order(clips["label"])
    palette = emotion_palette(order)
    durations = clips["duration_s"].astype(float)
    low, high = float(durations.min()), float(durations.max())
    size = max((high - low) / n_bins, 1e-3)
    fig = go.Figure()
    for name, pattern in zip(order, EMOTION_PATTERNS):
        fig.add_trace(go.Histogram(x=durations[clips["label"].astype(str) == name], name=name,
                                   xbins=dict(start=low, end=high + size, size=size),
                                   marker=dict(color=palette[name], pattern=dict(shape=pattern))))
    fig.update_layout(barmode="stack", legend=dict(_LEGEND_BELOW, traceorder="normal"))
    fig.update_xaxes(title="duration (s)")
    fig.update_yaxes(title="clips", tickformat=",d")
    _alt(fig, f"{title}: {len(durations):,} clips from {low:.1f} to {high:.1f} s, median {durations.median():.1f} s.")
    return _finish(fig, title=title, height=380)


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
    peak = float(np.abs(y).max()) if len(y) else 0.0
    _alt(fig, f"{title}: {len(y) / float(sample_rate):.1f} s of audio, peak amplitude {peak:.2f}.")
    return _finish(fig, title=title, height=220)


def heatmap(matrix: np.ndarray, *, title: str, hop_s: float | None = None, y_title: str = "coefficient",
            colorscale: str = "Magma", z_title: str = "", zmin: float | None = None, zmax: float | None = None,
            per_row: bool = False) -> go.Figure:
    """Heatmap of a (rows, frames) matrix, frames on the x axis in seconds when ``hop_s`` is given.

    ``per_row``: each row scaled to its own mean and spread (z-scores, -3..3), so one row
    with a much larger range (MFCC coefficient 0, the loudness) does not flatten the others.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise InputError(f"heatmap needs a 2-D (rows, frames) matrix, got shape {matrix.shape}")
    if per_row:
        spread = matrix.std(axis=1, keepdims=True)
        matrix = (matrix - matrix.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
        zmin, zmax, z_title = -3.0, 3.0, z_title or "z (per row)"
    x = np.arange(matrix.shape[1]) * hop_s if hop_s else np.arange(matrix.shape[1])
    fig = go.Figure(go.Heatmap(z=matrix, x=x, y=np.arange(matrix.shape[0]), colorscale=safe_colorscale(colorscale),
                               zmin=zmin, zmax=zmax, colorbar=dict(title=z_title)))
    fig.update_xaxes(title="time (s)" if hop_s else "frame")
    fig.update_yaxes(title=y_title)
    span = f" over {matrix.shape[1] * hop_s:.1f} s" if hop_s else f" over {matrix.shape[1]} frames"
    _alt(fig, f"{title}: {matrix.shape[0]} rows{span}" + (", each row scaled to its own mean and spread" if per_row else ""))
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
    colors = plotly.colors.qualitative.Safe
    fig = go.Figure()
    for i, name in enumerate(block_names):
        fig.add_trace(go.Bar(x=np.arange(i * size, (i + 1) * size), y=vector[i * size:(i + 1) * size], name=name,
                             marker=dict(color=colors[i % len(colors)], line=dict(width=0))))
    fig.update_layout(bargap=0, legend=_LEGEND_BELOW)
    fig.update_xaxes(title="position in the vector", tickformat="d")
    fig.update_yaxes(title="value (time mean)", tickformat=".0f")
    _alt(fig, f"{title}: {len(vector)} values in {n_blocks} blocks of {size} ({', '.join(block_names)}), from "
              f"{vector.min():.0f} to {vector.max():.0f}.")
    return _finish(fig, title=title, height=320)


def probabilities(probs: Mapping[str, float], *, title: str = "Model score per emotion",
                  axis_title: str = "score") -> go.Figure:
    """Horizontal score bars in the shared emotion order and colours."""
    import plotly.express as px

    order = emotion_order(list(probs))
    frame = pd.DataFrame({"emotion": order, "score": [float(probs[e]) for e in order]})
    fig = px.bar(frame, y="emotion", x="score", color="emotion", orientation="h",
                 color_discrete_map=emotion_palette(order), category_orders={"emotion": order},
                 text=frame["score"].map(lambda p: f"{p:.0%}"))
    fig.update_traces(textposition="outside", cliponaxis=False, textfont_color=TEXT_COLOR)
    fig.update_layout(showlegend=False)
    fig.update_xaxes(range=[0, 1.12], title=axis_title, **_PERCENT_TICKS)
    fig.update_yaxes(title=None)  # the bars' own labels name the emotions; a rotated "emotion" only takes width
    ranked = frame.sort_values("score", ascending=False)
    _alt(fig, f"{title}: " + ", ".join(f"{e} {p:.0%}" for e, p in zip(ranked["emotion"], ranked["score"])))
    return _finish(fig, title=title, height=330)


def recall_by_emotion(recalls: Mapping[str, float], *, chance: float | None = None,
                      title: str = "How often each emotion is recognised") -> go.Figure:
    """Horizontal bars of recall per emotion (shared order and colours), with chance as a dashed line."""
    order = emotion_order(list(recalls))
    palette = emotion_palette(order)
    fig = go.Figure()
    for name in order:
        fig.add_trace(go.Bar(y=[name], x=[float(recalls[name])], orientation="h", name=name,
                             marker_color=palette[name], text=[f"{float(recalls[name]):.0%}"], textposition="outside",
                             cliponaxis=False, textfont=dict(color=TEXT_COLOR)))
    if chance is not None:
        fig.add_vline(x=chance, line=dict(color=TEXT_COLOR, dash="dash", width=1))
    fig.update_layout(showlegend=False, barmode="overlay")
    axis_title = "recall (share of its clips recognised)" + (f"; dashed: chance, {percent(chance)}" if chance else "")
    fig.update_xaxes(range=[0, 1.12], title=axis_title, **_PERCENT_TICKS)
    fig.update_yaxes(title=None, type="category", categoryorder="array", categoryarray=order[::-1])
    ranked = sorted(order, key=lambda name: -float(recalls[name]))
    _alt(fig, f"{title}: " + ", ".join(f"{name} {float(recalls[name]):.0%}" for name in ranked)
         + (f"; chance {percent(chance)}" if chance is not None else ""))
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
    fig.update_layout(barmode="stack", bargap=0, legend=dict(_LEGEND_BELOW, traceorder="normal"))
    fig.update_yaxes(range=[0, 1], title="score", **_PERCENT_TICKS)
    fig.update_xaxes(title="time (s)")
    top = timeline[emotions].astype(float).idxmax(axis=1) if emotions and len(timeline) else pd.Series(dtype=str)
    counts = top.value_counts()
    _alt(fig, f"{title}: {len(timeline)} windows over {times.max() if len(times) else 0:.0f} s; top emotion "
              + ", ".join(f"{name} in {count}" for name, count in counts.items()) + ".")
    return _finish(fig, title=title, height=340)


def _abbreviated(label: str, *, width: int = 5) -> str:
    """A label cut to ``width`` characters with a full stop (``surprised`` -> ``surp.``); short ones as they are."""
    return label if len(label) <= width else label[:width - 1] + "."


def confusion(matrix: np.ndarray, *, labels: Sequence[str], title: str = "Confusion matrix",
              normalize: bool = True) -> go.Figure:
    """Confusion-matrix heatmap (rows = true labels), row-normalised with counts in the cells."""
    counts = np.asarray(matrix, dtype=float)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    text = [[f"{int(c)}" for c in row] for row in counts]
    fig = go.Figure(go.Heatmap(z=shown, x=list(labels), y=list(labels), colorscale=safe_colorscale("Blues"),
                               text=text, texttemplate="%{text}", zmin=0, zmax=1 if normalize else None,
                               colorbar=dict(title="recall" if normalize else "clips", tickformat=".0%")))
    # Upright column names, short enough to sit side by side in a half-width chart (full names on the rows).
    fig.update_xaxes(title="predicted", side="bottom", type="category", tickangle=0, tickvals=list(labels),
                     ticktext=[_abbreviated(str(label)) for label in labels])
    fig.update_yaxes(title="true", autorange="reversed", type="category")
    recall = np.diag(counts) / np.maximum(counts.sum(axis=1), 1)
    _alt(fig, f"{title}: recall per true emotion " + ", ".join(f"{label} {r:.0%}" for label, r in zip(labels, recall)))
    return _finish(fig, title=title, height=420)


def accuracy_vs_latency(table: pd.DataFrame, *, title: str = "Accuracy against latency") -> go.Figure:
    """Scatter of accuracy against latency per 3-s clip; one marker per model on its headline protocol."""
    import plotly.express as px

    frame = table.dropna(subset=["accuracy", "latency_ms"])
    fig = px.scatter(frame, x="latency_ms", y="accuracy", color="name", symbol="protocol_title",
                     color_discrete_map=model_colors(frame["name"]), category_orders={"name": sorted(frame["name"])},
                     hover_name="name", hover_data={"uar": ":.1%", "accuracy": ":.1%", "latency_ms": ":.1f"})
    fig.update_traces(marker=dict(size=13, line=dict(width=1, color="white")))
    fig.update_xaxes(title="latency per 3-s clip (ms, log scale)", type="log",
                     tickvals=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
    fig.update_yaxes(title="accuracy", range=[0, 1.02], **_PERCENT_TICKS)
    fig.update_layout(legend=_LEGEND_BELOW)
    _alt(fig, f"{title}: " + "; ".join(f"{row['name']} {row['accuracy']:.0%} at {row['latency_ms']:.0f} ms"
                                        for _, row in frame.sort_values("accuracy", ascending=False).iterrows()))
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
        layout["yaxis2"] = dict(title=value_columns[1], overlaying="y", side="right", range=[-80, 0],
                                tickvals=[-80, -60, -40, -20, 0], showgrid=False)
    fig.update_layout(**layout)
    fig.update_xaxes(title="time (s)")
    if value_columns:
        voiced = frame[value_columns[0]].dropna()
        _alt(fig, f"{title}: {value_columns[0]} " + (f"from {voiced.min():.0f} to {voiced.max():.0f}, median "
                                                     f"{voiced.median():.0f}" if len(voiced) else "not found")
             + f" over {frame['time_s'].max():.1f} s.")
    return _finish(fig, title=title, height=320)


def distribution(frame: pd.DataFrame, *, value: str, by: str = "label", title: str | None = None) -> go.Figure:
    """Box plot of one feature column grouped by label (or any other column)."""
    import plotly.express as px

    order = emotion_order(frame[by]) if by == "label" else sorted(frame[by].astype(str).unique())
    kwargs = dict(color_discrete_map=emotion_palette(order)) if by == "label" else {}
    fig = px.box(frame.assign(**{by: frame[by].astype(str)}), x=by, y=value, color=by,
                 category_orders={by: order}, points=False, **kwargs)
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title=by)
    fig.update_yaxes(title=value, tickformat=".3~g")
    medians = frame.groupby(frame[by].astype(str))[value].median()
    title = title or f"{value} by {by}"
    _alt(fig, f"{title}: median " + ", ".join(f"{name} {medians[name]:.3g}" for name in order if name in medians))
    return _finish(fig, title=title, height=360)


def embedding(frame: pd.DataFrame, *, color: str = "label", title: str = "Corpus map",
              axis_names: tuple[str, str] = ("component 1", "component 2")) -> go.Figure:
    """2-D scatter of a corpus projection (columns ``x``, ``y``) coloured by label, speaker, corpus or gender."""
    import plotly.express as px

    shown = frame.assign(**{color: frame[color].astype(str)})
    if color == "label":
        order = emotion_order(shown[color])
        kwargs = dict(color_discrete_map=emotion_palette(order), category_orders={color: order}, symbol=color,
                      symbol_sequence=list(EMOTION_SYMBOLS[:len(order)]))
    else:
        kwargs = dict(category_orders={color: sorted(shown[color].unique())}, color_discrete_sequence=SPEAKER_COLORS)
    hover = [c for c in ("speaker", "label", "corpus", "intensity", "statement") if c in shown and c != color]
    fig = px.scatter(shown, x="x", y="y", color=color, hover_data=hover, **kwargs)
    fig.update_traces(marker=dict(size=6, opacity=0.8))
    fig.update_xaxes(title=axis_names[0], showticklabels=False)
    fig.update_yaxes(title=axis_names[1], showticklabels=False)
    fig.update_layout(legend=_LEGEND_BELOW)
    _alt(fig, f"{title}: {len(shown):,} clips, by {color} ({shown[color].nunique()} groups); nearby points sound alike "
              "to these features.")
    return _finish(fig, title=title, height=520)
