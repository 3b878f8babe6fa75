"""Colour checks for people: text contrast (WCAG 2) and colour-vision deficiency (Machado et al. 2009, CIEDE2000).

The emotion palette (:mod:`ser_core.data.labels`) is chosen so that every two emotions
stay apart for people with deuteranopia, protanopia or tritanopia, and the text on a
coloured chip is black or white, whichever reads better (:func:`text_colour_on`).
The tests state the smallest pairwise difference under each simulation.

Examples
--------
>>> round(contrast_ratio("#000000", "#ffffff"), 1)
21.0
>>> text_colour_on("#f0c419")
'#000000'
>>> round(delta_e("#ff0000", "#ff0000"), 3)
0.0
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ser_core.errors import InputError

#: Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
#: deficiency", IEEE TVCG 15(6): the matrices for severity 1.0 (dichromacy), applied to linear RGB.
CVD_MATRICES = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
#: The colour visions every palette is checked under (``normal`` is no simulation).
VISIONS = ("normal", *CVD_MATRICES)
#: WCAG 2 AA minimum contrast for normal-size text.
TEXT_CONTRAST = 4.5


def hex_to_rgb(colour: str) -> np.ndarray:
    """``#rrggbb`` (or ``#rgb``) as sRGB floats in 0..1."""
    text = str(colour).strip().lstrip("#")
    if len(text) == 3:
        text = "".join(2 * c for c in text)
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise InputError(f"colour {colour!r} is not a hex colour; expected #rrggbb")
    return np.array([int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)])


def rgb_to_hex(rgb) -> str:
    """sRGB floats in 0..1 (clipped) as ``#rrggbb``."""
    values = np.clip(np.asarray(rgb, dtype=float), 0, 1)
    return "#" + "".join(f"{round(v * 255):02x}" for v in values)


def _linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a hex colour (0 black .. 1 white)."""
    r, g, b = _linear(hex_to_rgb(colour))
    return float(0.2126 * r + 0.7152 * g + 0.0722 * b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two hex colours (1..21); text needs 4.5 or more."""
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_colour_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (at least 4.58:1 for any colour)."""
    return "#000000" if contrast_ratio("#000000", background) >= contrast_ratio("#ffffff", background) else "#ffffff"


def simulate(colour: str, vision: str) -> str:
    """How ``colour`` looks under ``vision`` (``normal``, ``protanopia``, ``deuteranopia``, ``tritanopia``)."""
    if vision == "normal":
        return rgb_to_hex(hex_to_rgb(colour))
    if vision not in CVD_MATRICES:
        raise InputError(f"unknown colour vision {vision!r}; expected one of {', '.join(VISIONS)}")
    return rgb_to_hex(_gamma(CVD_MATRICES[vision] @ _linear(hex_to_rgb(colour))))


def _lab(colour: str) -> np.ndarray:
    """CIE L*a*b* (D65) of a hex colour."""
    linear = _linear(hex_to_rgb(colour))
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                    [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ linear
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(first: str, second: str) -> float:
    """CIEDE2000 colour difference of two hex colours (about 2.3 is just noticeable; 10 or more is clearly apart)."""
    l1, a1, b1 = _lab(first)
    l2, a2, b2 = _lab(second)
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    c_mean = (c1 + c2) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p if abs(h2p - h1p) <= 180 else
                                     h2p - h1p - 360 if h2p - h1p > 180 else h2p - h1p + 360)
    dh_big = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, c_mean_p = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6)) - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(c_mean_p ** 7 / (c_mean_p ** 7 + 25 ** 7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean_p, 1 + 0.015 * c_mean_p * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dh_big / s_h) ** 2 + r_t * (dc / s_c) * (dh_big / s_h))


def closest_pair(colours: dict, *, vision: str = "normal") -> tuple[float, str, str]:
    """The smallest CIEDE2000 difference between two of ``colours`` (``{name: hex}``) under ``vision``, and the pair."""
    seen = {name: simulate(colour, vision) for name, colour in colours.items()}
    if len(seen) < 2:
        raise InputError(f"closest_pair needs two colours or more; got {len(seen)}")
    return min((delta_e(seen[a], seen[b]), a, b) for a, b in itertools.combinations(seen, 2))
