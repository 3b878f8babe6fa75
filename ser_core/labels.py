"""The shared emotion vocabulary every corpus is mapped onto."""

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


def emotion_color(name: str) -> str:
    """Return the hex colour (``#rrggbb``) used for one emotion in every plot."""
    try:
        return _COLORS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown emotion {name!r}; expected one of {', '.join(ALL_EMOTIONS)}"
        ) from None
