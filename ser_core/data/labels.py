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

# One colour per emotion, stable across every plot (colour-blind friendly where possible).
_COLORS = {
    "neutral": "#8c8c8c",
    "calm": "#56b4e9",
    "happy": "#f0c419",
    "sad": "#0072b2",
    "angry": "#d55e00",
    "fearful": "#7b3fa0",
    "disgust": "#009e73",
    "surprised": "#cc79a7",
    "boredom": "#a6761d",
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
    ('#d55e00', True)
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
