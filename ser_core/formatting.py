"""How figures are written everywhere (CLI, dashboard, model cards, report): one decimal, "—" when missing."""

from __future__ import annotations

import html
import math

#: Shown where a figure does not exist.
MISSING = "—"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value, *, decimals: int = 1) -> str:
    """A share as a percentage: ``0.6692`` -> ``66.9%``."""
    return MISSING if _missing(value) else f"{100 * float(value):.{decimals}f}%"


def percent_spread(mean, std=None, *, decimals: int = 1) -> str:
    """A mean share with its spread over folds: ``66.9% ± 4.3``."""
    if _missing(mean):
        return MISSING
    if _missing(std):
        return percent(mean, decimals=decimals)
    return f"{percent(mean, decimals=decimals)} ± {100 * float(std):.{decimals}f}"


def number(value, *, decimals: int = 1, unit: str = "") -> str:
    """A plain number with a unit: ``45.9 ms``; thousands separated for integers."""
    if _missing(value):
        return MISSING
    if isinstance(value, int) or (decimals == 0):
        text = f"{round(float(value)):,}"
    else:
        text = f"{float(value):,.{decimals}f}"
    return f"{text} {unit}".strip()


def megabytes(size_bytes) -> str:
    """A size in bytes as ``1.8 MB``."""
    return MISSING if _missing(size_bytes) else f"{float(size_bytes) / 1e6:.1f} MB"


_MARKDOWN_SIGNIFICANT = frozenset("\\`*[]()<>~$")


def markdown_text(value) -> str:
    """Any value as literal text inside Markdown (Streamlit's captions, errors, write).

    The characters that make links, emphasis, code, strike-through, LaTeX or Streamlit's
    ``:red[...]`` directives are backslash-escaped, so a visitor's file name such as
    ``[x](https://evil.example).wav`` is shown as typed, never as a link.

    Examples
    --------
    >>> markdown_text("**a**[b](c).wav")
    '\\\\*\\\\*a\\\\*\\\\*\\\\[b\\\\]\\\\(c\\\\).wav'
    """
    return "".join(f"\\{char}" if char in _MARKDOWN_SIGNIFICANT else char for char in str(value))


#: First characters that make a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value) -> str:
    """Any text as a CSV cell a spreadsheet shows as typed, never runs as a formula.

    A file name such as ``=HYPERLINK("https://evil.example").wav`` would otherwise become a
    live formula when a downloaded table is opened in Excel or LibreOffice; such a cell gets a
    leading apostrophe, which spreadsheets read as "text follows".

    Examples
    --------
    >>> spreadsheet_text('=1+1.wav'), spreadsheet_text("clip.wav")
    ("'=1+1.wav", 'clip.wav')
    """
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def html_text(value) -> str:
    """Any value as text that is safe inside HTML: ``<`` ``>`` ``&`` and quotes escaped.

    The one escaping helper: every label, folder, speaker or model name that goes into
    HTML (the report, ``st.html``, ``st.markdown(..., unsafe_allow_html=True)``) passes
    through it, since those names come from visitors' corpora and models.
    """
    return html.escape(str(value), quote=True)

