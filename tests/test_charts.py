"""ser_core.reporting.charts: every figure builder, with the shared emotion colours and bad input."""

import functools

import numpy as np
import pandas as pd
import pytest

from ser_core.data.labels import emotion_color
from ser_core.errors import InputError
from ser_core.reporting import charts


def test_palette_uses_the_shared_emotion_colours_and_a_fallback():
    palette = charts.emotion_palette(["angry", "sad", "not-an-emotion"])
    assert palette["angry"] == emotion_color("angry") and palette["sad"] == emotion_color("sad")
    assert palette["not-an-emotion"].startswith("#")


def test_emotion_order_follows_ravdess_codes_then_names():
    assert charts.emotion_order(["sad", "zzz", "neutral", "boredom", "angry"]) == \
        ["neutral", "sad", "angry", "boredom", "zzz"]


def test_probability_bars_are_coloured_per_emotion_in_order():
    fig = charts.probabilities({"sad": 0.2, "happy": 0.5, "neutral": 0.3})
    assert [t.name for t in fig.data] == ["neutral", "happy", "sad"]
    assert [t.marker.color for t in fig.data] == [emotion_color(e) for e in ("neutral", "happy", "sad")]


def test_counts_bar_by_emotion_and_plain():
    counts = pd.Series({"angry": 3, "calm": 2})
    assert {t.marker.color for t in charts.counts_bar(counts, title="x", by_emotion=True).data} == \
        {emotion_color("angry"), emotion_color("calm")}
    assert len(charts.counts_bar(pd.Series({"01": 5}), title="x").data) == 1


@pytest.mark.parametrize("n_samples", [1, 10, 16000 * 60])
def test_waveform_is_an_envelope_of_bounded_size(n_samples):
    y = np.sin(np.arange(n_samples) / 5).astype(np.float32)
    fig = charts.waveform(y, sample_rate=16000, max_points=500)
    top, bottom = fig.data
    assert len(top.x) <= 500 and np.all(np.asarray(top.y) >= np.asarray(bottom.y))
    assert max(top.y) == pytest.approx(y.max(), abs=1e-6)


@pytest.mark.parametrize(("matrix", "ok"), [(np.zeros((4, 7)), True), (np.zeros(7), False),
                                            (np.zeros((2, 3, 4)), False)])
def test_heatmap_needs_a_matrix(matrix, ok):
    if ok:
        fig = charts.heatmap(matrix, title="m", hop_s=0.032)
        assert fig.data[0].x[-1] == pytest.approx(6 * 0.032)
    else:
        with pytest.raises(InputError, match="2-D"):
            charts.heatmap(matrix, title="m")


@pytest.mark.parametrize(("size", "ok"), [(160, True), (161, False)])
def test_feature_vector_splits_into_named_blocks(size, ok):
    if ok:
        fig = charts.feature_vector(np.arange(size), block_names=("MFCC", "Δ", "ΔΔ", "mel dB"))
        assert [t.name for t in fig.data] == ["MFCC", "Δ", "ΔΔ", "mel dB"]
        assert all(len(t.x) == 40 for t in fig.data)
    else:
        with pytest.raises(InputError, match="161 values"):
            charts.feature_vector(np.arange(size), block_names=("a", "b", "c", "d"))


def test_confusion_is_row_normalised_with_counts_as_text():
    fig = charts.confusion([[3, 1], [0, 0]], labels=["angry", "sad"])
    assert np.allclose(fig.data[0].z, [[0.75, 0.25], [0, 0]])
    assert list(fig.data[0].text[0]) == ["3", "1"]


def test_timeline_is_one_stacked_bar_per_window_not_areas_between_them():
    timeline = pd.DataFrame({"time_s": [1.5, 3.0, 4.5], "label": ["sad", "happy", "sad"],
                             "happy": [0.3, 0.6, 0.2], "sad": [0.7, 0.4, 0.8]})
    fig = charts.emotion_timeline(timeline)
    assert [t.name for t in fig.data] == ["happy", "sad"] and all(t.type == "bar" for t in fig.data)
    assert fig.layout.barmode == "stack" and fig.data[0].width == pytest.approx(1.5 * 0.95)


def test_training_curves_skip_missing_columns_and_count_whole_epochs():
    history = pd.DataFrame({"epoch": [1, 2], "loss": [2.0, 1.5], "accuracy": [0.2, 0.4]})
    fig = charts.training_curves(history)
    assert [t.name for t in fig.data] == ["training loss", "training accuracy"]
    assert fig.layout.xaxis.tickformat == "d" and fig.layout.xaxis.dtick == 1


def test_other_figures_build():
    table = pd.DataFrame({"name": ["a"], "model": ["cnn"], "protocol": ["kfold"], "accuracy": [0.5],
                          "protocol_title": ["new speakers (5-fold by speaker)"],
                          "uar": [0.5], "macro_f1": [0.4], "latency_ms": [3.0]})
    assert len(charts.accuracy_vs_latency(table).data) == 1
    contours = pd.DataFrame({"time_s": [0, 0.1], "pitch (Hz)": [120, np.nan], "energy (dB)": [-3, -10]})
    assert [t.name for t in charts.contours(contours).data] == ["pitch (Hz)", "energy (dB)"]
    frame = pd.DataFrame({"x": [0, 1], "y": [1, 0], "label": ["sad", "angry"], "speaker": ["01", "02"]})
    assert {t.name for t in charts.embedding(frame).data} == {"sad", "angry"}
    assert {t.name for t in charts.embedding(frame, color="speaker").data} == {"01", "02"}
    dist = pd.DataFrame({"label": ["sad", "sad", "angry"], "v": [1.0, 2.0, 3.0]})
    assert {t.name for t in charts.distribution(dist, value="v").data} == {"sad", "angry"}
    durations = pd.DataFrame({"duration_s": [3.1, 3.3], "label": ["sad", "calm"]})
    assert len(charts.duration_histogram(durations).data) == 2


def _placeholder_colors(fig):
    import re

    return re.findall(r"#0000(?:0[1-9]|[1-3][0-9]|40)\b", fig.to_json(), flags=re.IGNORECASE)


def test_no_figure_uses_a_colour_streamlit_repaints():
    """Streamlit's theme replaces #000001-#000040: Magma's #000004 once turned silence pink."""
    mel = charts.mel_spectrogram(np.full((40, 20), -80.0), hop_s=0.032)
    assert _placeholder_colors(mel) == [] and mel.data[0].colorscale[0][1] == "#000000"
    assert (mel.data[0].zmin, mel.data[0].zmax) == (-80.0, 0.0)
    for name in ("Magma", "Inferno", "Viridis", "Blues"):
        assert _placeholder_colors(charts.heatmap(np.zeros((2, 2)), title="x", colorscale=name)) == []
    assert _placeholder_colors(charts.confusion([[1, 0], [0, 1]], labels=["a", "b"])) == []


def test_every_chart_names_its_axes_and_uses_round_percent_ticks():
    figures = [charts.counts_bar(pd.Series({"01": 3, "02": 4}), title="x", category="actor"),
               charts.probabilities({"sad": 0.2, "happy": 0.8})]
    assert figures[0].layout.xaxis.title.text and figures[0].layout.yaxis.title.text
    # emotion bars: the score axis is named; the bars' own labels name the emotions (no rotated "emotion")
    assert figures[1].layout.xaxis.title.text and not figures[1].layout.yaxis.title.text
    assert list(figures[1].layout.xaxis.tickvals) == [0, 0.25, 0.5, 0.75, 1.0]


def test_twenty_actors_get_twenty_colours():
    frame = pd.DataFrame({"x": range(20), "y": range(20), "speaker": [f"{a:02d}" for a in range(1, 21)]})
    fig = charts.embedding(frame, color="speaker")
    assert len({t.marker.color for t in fig.data}) == 20
    assert fig.layout.xaxis.title.text == "component 1"


def test_side_by_side_pitch_charts_can_share_one_range():
    frame = pd.DataFrame({"time_s": [0, 0.1], "pitch (Hz)": [120, 180], "energy (dB)": [-3, -10]})
    assert list(charts.contours(frame, pitch_range=(0, 400)).layout.yaxis.range) == [0, 400]


def test_a_timeline_of_any_label_set_is_drawn_in_distinct_colours():
    timeline = pd.DataFrame({"time_s": [1.0, 2.0], "start_s": [0.0, 0.5], "label": ["ira", "calma"],
                             "ira": [0.7, 0.2], "calma": [0.2, 0.7], "tristeza": [0.1, 0.1]})
    fig = charts.emotion_timeline(timeline)
    assert [t.name for t in fig.data] == ["calma", "ira", "tristeza"]
    assert len({t.marker.color for t in fig.data}) == 3


# ---------------------------------------------------------------- accessibility: text, titles, cues beyond colour

@functools.lru_cache(maxsize=1)
def _every_figure():
    rng = np.random.default_rng(0)
    clips = pd.DataFrame({"label": ["angry", "sad", "calm", "happy"] * 5, "duration_s": rng.uniform(2, 4, 20)})
    timeline = pd.DataFrame({"time_s": [1.5, 3.0, 4.5], "angry": [0.7, 0.2, 0.1], "sad": [0.3, 0.8, 0.9]})
    table = pd.DataFrame({"name": ["b-model", "a-model"], "accuracy": [0.7, 0.6], "uar": [0.7, 0.6],
                          "latency_ms": [100.0, 20.0], "protocol_title": ["new speakers", "new speakers"]})
    frame = pd.DataFrame({"x": rng.normal(size=20), "y": rng.normal(size=20), **clips})
    return {
        "counts": charts.counts_bar(pd.Series({"angry": 3, "calm": 2}), title="Clips per emotion", by_emotion=True),
        "durations": charts.duration_histogram(clips),
        "heatmap": charts.heatmap(rng.normal(size=(13, 50)), title="MFCC", hop_s=0.01, per_row=True),
        "probabilities": charts.probabilities({"angry": 0.97, "sad": 0.03}),
        "timeline": charts.emotion_timeline(timeline),
        "confusion": charts.confusion(np.array([[3, 1], [0, 4]]), labels=["angry", "sad"]),
        "latency": charts.accuracy_vs_latency(table),
        "contours": charts.contours(pd.DataFrame({"time_s": [0.0, 0.1], "pitch (Hz)": [120.0, 130.0],
                                                  "energy (dB)": [-20.0, -30.0]})),
        "distribution": charts.distribution(frame.assign(v=rng.normal(size=20)), value="v"),
        "map": charts.embedding(frame),
        "recall": charts.recall_by_emotion({"sad": 0.5, "angry": 0.8}, chance=0.125),
    }


@pytest.mark.parametrize("name", list(_every_figure()))
def test_every_chart_has_dark_text_a_text_alternative_and_an_unclipped_title(name):
    from ser_core.reporting.colours import contrast_ratio

    fig = _every_figure()[name]
    assert contrast_ratio(charts.TEXT_COLOR, "#ffffff") >= 4.5 > contrast_ratio("#808495", "#ffffff")
    assert fig.layout.xaxis.tickfont.color == charts.TEXT_COLOR and fig.layout.yaxis.tickfont.color == charts.TEXT_COLOR
    alternative = charts.text_alternative(fig)
    assert len(alternative) > len(fig.layout.title.text.split("<br>")[0]) and "\n" not in alternative
    assert all(len(line) <= charts.TITLE_WIDTH + 12 for line in fig.layout.title.text.split("<br>"))


def test_long_titles_wrap_and_the_top_margin_makes_room():
    fig = charts.heatmap(np.zeros((3, 4)), title="Mel spectrogram (dB below the loudest point of the clip)")
    assert fig.layout.title.text.count("<br>") == 1 and fig.layout.margin.t == 70


def test_score_axis_covers_the_longest_bar_and_every_tick():
    fig = charts.probabilities({"angry": 0.97, "sad": 0.03})
    assert fig.layout.xaxis.range[1] > 1.0 and list(fig.layout.xaxis.tickvals)[-1] == 1.0
    assert fig.data[0].cliponaxis is False


def test_emotions_differ_by_more_than_colour_on_maps_and_histograms():
    figures = _every_figure()
    symbols = {trace.name: trace.marker.symbol for trace in figures["map"].data}
    assert len(set(symbols.values())) == len(symbols) == 4
    patterns = {trace.name: trace.marker.pattern.shape for trace in figures["durations"].data}
    assert len(set(patterns.values())) == len(patterns) == 4


def test_timeline_legend_lists_emotions_in_display_order():
    fig = _every_figure()["timeline"]
    assert fig.layout.legend.traceorder == "normal" and [t.name for t in fig.data] == ["sad", "angry"]


def test_model_colours_do_not_depend_on_order_or_on_the_other_models():
    one = charts.model_colors(["cnn-compare-ensemble", "logmel-cnn", "study-cnn"])
    other = charts.model_colors(["study-cnn", "cnn-compare-ensemble", "logmel-cnn"])
    assert one == other and len(set(one.values())) == 3
    fig = _every_figure()["latency"]
    assert {t.marker.color for t in fig.data} == set(charts.model_colors(["a-model", "b-model"]).values())


def test_per_row_heatmap_keeps_every_row_visible():
    matrix = np.vstack([1000 * np.sin(np.arange(50)), np.cos(np.arange(50))])
    z = np.asarray(charts.heatmap(matrix, title="MFCC", per_row=True).data[0].z)
    assert np.allclose(z.std(axis=1), 1.0) and z.max() <= 3.5


def test_energy_axis_has_round_decibel_ticks():
    fig = _every_figure()["contours"]
    assert list(fig.layout.yaxis2.tickvals) == [-80, -60, -40, -20, 0]


def test_confusion_columns_stay_upright_with_short_names():
    fig = charts.confusion(np.eye(3), labels=["neutral", "sad", "surprised"])
    assert fig.layout.xaxis.tickangle == 0 and list(fig.layout.xaxis.ticktext) == ["neut.", "sad", "surp."]


def test_a_title_shows_a_visitors_file_name_as_typed_never_as_a_link():
    fig = charts.waveform(np.zeros(1600, dtype=np.float32), sample_rate=16000,
                          title='<a href="https://evil.example">click</a> & co.wav')
    assert "<a " not in fig.layout.title.text and "&lt;a" in fig.layout.title.text and "&amp; co" in fig.layout.title.text
    assert charts.text_alternative(fig).startswith('<a href="https://evil.example">'), "the words as typed"
