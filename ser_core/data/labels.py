"""The shared emotion vocabulary every corpus is mapped onto, its display order and its colours.

Corpora with labels of their own (a folder-per-label tree, a manifest) keep them: any
label set works end to end. Known emotions keep their fixed colour; other labels get
one from a fallback palette, chosen from the label's name so it stays the same from
chart to chart (:func:`label_colors`).
"""

import hashlib

from ser_core.errors import InputError

#: The eight RAVDESS emotions, in the order of their codes 01..08.
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")

#: Emotions some corpora have beyond RAVDESS (EmoDB's "Langeweile").
EXTRA_EMOTIONS = ("boredom",)

#: Every emotion a clip may carry, in display order.
ALL_EMOTIONS = EMOTIONS + EXTRA_EMOTIONS

# One colour per emotion, stable across every plot. Chosen so that every two stay apart for
# people with deuteranopia, protanopia or tritanopia as well as normal vision: the smallest
# CIEDE2000 difference between two of them is 12 or more under each (Machado et al. 2009
# simulation; ser_core.reporting.colours, asserted in tests/test_colours.py). Chips put black
# or white text on them, whichever contrasts more (at least 4.5:1).
_COLORS = {
    "neutral": "#8d8d8d",
    "calm": "#56b6e8",
    "happy": "#f0c21b",
    "sad": "#018db1",
    "angry": "#d67b00",
    "fearful": "#7e3f9c",
    "disgust": "#007567",
    "surprised": "#cb3369",
    "boredom": "#97651a",
}

#: Colours for labels outside :data:`ALL_EMOTIONS` (none of them an emotion's colour).
FALLBACK_COLORS = ("#1b9e77", "#e7298a", "#66a61e", "#e6ab02", "#7570b3", "#a6cee3", "#b2df8a",
                   "#fb9a99", "#fdbf6f", "#cab2d6", "#6a3d9a", "#b15928", "#1f78b4", "#33a02c")


def emotion_color(name: str) -> str:
    """Return the hex colour (``#rrggbb``) used for one emotion in every plot."""
    try:
        return _COLORS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown emotion {name!r}; expected one of {', '.join(ALL_EMOTIONS)}"
        ) from None


def _preferred_slot(label: str) -> int:
    digest = hashlib.blake2b(label.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % len(FALLBACK_COLORS)


def label_colors(labels) -> dict:
    """Return ``{label: "#rrggbb"}`` for any labels: emotions keep theirs, others get a stable fallback.

    A label outside :data:`ALL_EMOTIONS` takes the fallback colour its name hashes to,
    or the next free one when another label of the same set took it first (labels are
    visited in sorted order), so one chart never shows two labels in one colour while
    the palette lasts.

    Examples
    --------
    >>> colors = label_colors(["angry", "joy"])
    >>> colors["angry"], colors["joy"] == label_colors(["joy"])["joy"]
    ('#d67b00', True)
    """
    names = [str(label) for label in labels]
    colors = {name: _COLORS[name] for name in names if name in _COLORS}
    taken = set()
    for name in sorted(set(names) - set(colors)):
        slot = _preferred_slot(name)
        for step in range(len(FALLBACK_COLORS)):
            candidate = (slot + step) % len(FALLBACK_COLORS)
            if candidate not in taken:
                slot = candidate
                break
        taken.add(slot)
        colors[name] = FALLBACK_COLORS[slot]
    return {name: colors[name] for name in names}


def label_order(labels) -> list:
    """The distinct labels in display order: known emotions in :data:`ALL_EMOTIONS` order, others sorted after.

    Examples
    --------
    >>> label_order(["sad", "joy", "neutral", "sad"])
    ['neutral', 'sad', 'joy']
    """
    present = {str(label) for label in labels}
    return [name for name in ALL_EMOTIONS if name in present] + sorted(present - set(ALL_EMOTIONS))
