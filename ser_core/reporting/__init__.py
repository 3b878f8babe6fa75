"""Reporting: figures, the comparison table, the stakeholder report.

Modules, by job:

* :mod:`~ser_core.reporting.charts`: Plotly figure builders for the pages and the report
  (``emotion_palette``, ``waveform``, ``mel_spectrogram``, ``probabilities``,
  ``emotion_timeline``, ``confusion``, ``accuracy_vs_latency``, ...).
* :mod:`~ser_core.reporting.projection`: 2-D maps of a corpus (``project_2d``, ``METHODS``).
* :mod:`~ser_core.reporting.comparison`: one row per (model folder, protocol)
  (``COLUMNS``, ``comparison_rows``, ``headline_rows``, ``best_on_new_speakers``).
* :mod:`~ser_core.reporting.study_figures`: the figures the study reported
  (``STUDY_RESULTS``, ``SYSTEM_TITLES``, ``STUDY_PROTOCOL``).
* :mod:`~ser_core.reporting.summary`: a model in plain words, one source for Home, the report
  and Predict (``plain_summary``, ``PlainSummary``).
* :mod:`~ser_core.reporting.colours`: contrast, CIEDE2000 and colour-vision simulations
  (``contrast_ratio``, ``text_colour_on``, ``simulate``, ``delta_e``, ``closest_pair``).
* :mod:`~ser_core.reporting.report`: the report as HTML, and PDF with Chromium
  (``report_html``, ``build_report``, ``html_to_pdf``).

How figures are written (percentages, sizes) is :mod:`ser_core.formatting`.
"""
