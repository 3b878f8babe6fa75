"""Tests for ser_core.data.labels: the shared emotion vocabulary."""

import re

import pytest

from ser_core.data.labels import ALL_EMOTIONS, EMOTIONS, EXTRA_EMOTIONS, emotion_color
from ser_core.errors import InputError, SERError


def test_emotions_follow_ravdess_code_order():
    assert EMOTIONS == ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    assert EXTRA_EMOTIONS == ("boredom",)
    assert ALL_EMOTIONS == EMOTIONS + EXTRA_EMOTIONS


@pytest.mark.parametrize("name", ALL_EMOTIONS)
def test_every_emotion_has_a_hex_colour(name):
    assert re.fullmatch(r"#[0-9a-f]{6}", emotion_color(name))


def test_colours_are_distinct():
    colours = [emotion_color(name) for name in ALL_EMOTIONS]
    assert len(set(colours)) == len(colours)


@pytest.mark.parametrize("bad", ["joy", "Neutral", "", None, 3])
def test_unknown_emotion_raises_input_error(bad):
    with pytest.raises(InputError, match="unknown emotion") as caught:
        emotion_color(bad)
    assert isinstance(caught.value, (SERError, ValueError))
    assert "neutral" in str(caught.value)


def test_any_label_set_gets_distinct_stable_colours():
    from ser_core.data.labels import label_colors

    custom = ["joy", "anger", "sadness", "calm", "Wut", "ärger"]
    colors = label_colors(custom)
    assert colors["calm"] == emotion_color("calm")
    assert len(set(colors.values())) == len(custom)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors.values())
    assert label_colors(["joy"])["joy"] == label_colors(["joy", "zzz"])["joy"] == colors["joy"]
    assert not set(colors[name] for name in custom if name != "calm") & set(map(emotion_color, ALL_EMOTIONS))


def test_label_order_puts_known_emotions_first():
    from ser_core.data.labels import label_order

    assert label_order(["zeta", "sad", "alpha", "neutral", "sad"]) == ["neutral", "sad", "alpha", "zeta"]
