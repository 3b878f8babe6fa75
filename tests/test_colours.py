"""Colour checks: WCAG contrast, CIEDE2000, Machado et al. 2009 simulations, and the emotion palette under each."""

import pytest

from ser_core.data.labels import ALL_EMOTIONS, EMOTIONS, emotion_color, label_colors
from ser_core.errors import InputError
from ser_core.reporting import colours

#: The smallest CIEDE2000 difference between two emotion colours under each colour vision, as measured;
#: the test fails if a palette change brings any below MIN_DELTA_E.
MEASURED_MIN_DELTA_E = {"normal": 14.3, "protanopia": 12.1, "deuteranopia": 12.0, "tritanopia": 12.4}
MIN_DELTA_E = 10.0


@pytest.mark.parametrize(("first", "second", "expected"), [
    # Sharma, Wu & Dalal (2005) CIEDE2000 test pairs, given here as their sRGB hex rendering is not exact:
    ("#000000", "#000000", 0.0),
    ("#ffffff", "#000000", 100.0),
])
def test_delta_e_extremes(first, second, expected):
    assert colours.delta_e(first, second) == pytest.approx(expected, abs=0.01)


def test_delta_e_matches_sharmas_reference_pairs(monkeypatch):
    import numpy as np

    monkeypatch.setattr(colours, "_lab", lambda lab: np.asarray(lab, dtype=float))
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 2.5, 0), (73, 25, -18), 27.1492),
             ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
             ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
             ((90.8027, -2.0831, 1.441), (91.1528, -1.6435, 0.0447), 1.4441)]
    for first, second, expected in pairs:
        assert colours.delta_e(first, second) == pytest.approx(expected, abs=1e-4)


def test_contrast_ratio_and_text_colour():
    assert colours.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert colours.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert colours.text_colour_on("#ffff00") == "#000000" and colours.text_colour_on("#000080") == "#ffffff"


def test_simulation_keeps_greys_and_merges_red_and_green_for_deuteranopes():
    assert colours.simulate("#808080", "deuteranopia") == "#808080"
    normal = colours.delta_e("#d62728", "#2ca02c")
    deutan = colours.delta_e(colours.simulate("#d62728", "deuteranopia"), colours.simulate("#2ca02c", "deuteranopia"))
    assert deutan < normal / 2


@pytest.mark.parametrize(("value", "message"), [("#12345", "hex colour"), ("red", "hex colour")])
def test_bad_colours_are_named(value, message):
    with pytest.raises(InputError, match=message):
        colours.hex_to_rgb(value)
    with pytest.raises(InputError, match="colour vision"):
        colours.simulate("#000000", "achromatopsia-ish")


@pytest.mark.parametrize("vision", colours.VISIONS)
def test_every_two_emotions_stay_apart_under_each_colour_vision(vision):
    palette = {name: emotion_color(name) for name in ALL_EMOTIONS}
    smallest, first, second = colours.closest_pair(palette, vision=vision)
    assert smallest >= MIN_DELTA_E, f"{first} and {second} are {smallest:.1f} apart under {vision}"
    assert smallest == pytest.approx(MEASURED_MIN_DELTA_E[vision], abs=0.1)


@pytest.mark.parametrize("emotion", ALL_EMOTIONS)
def test_chip_text_on_every_emotion_colour_reads_at_4_5_to_1(emotion):
    background = emotion_color(emotion)
    assert colours.contrast_ratio(colours.text_colour_on(background), background) >= colours.TEXT_CONTRAST


def test_fallback_colours_keep_readable_chip_text():
    for colour in label_colors(["joy", "irritation", "boredom", *EMOTIONS]).values():
        assert colours.contrast_ratio(colours.text_colour_on(colour), colour) >= colours.TEXT_CONTRAST
