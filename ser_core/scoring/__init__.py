"""Scoring: figures from predictions, temperature scaling, other corpora, latency.

Modules, by job:

* :mod:`~ser_core.scoring.metrics`: accuracy, UAR, macro F1, confusion, the
  classification report, fold summaries (``evaluate_predictions``, ``summarize_folds``,
  ``pool_fold_confusions``, ``format_report``).
* :mod:`~ser_core.scoring.temperature`: temperature scaling of probabilities and how
  well calibrated they are (``fit_temperature``, ``apply_temperature``,
  ``expected_calibration_error``, ``cross_fitted``, ``calibration_report``).
* :mod:`~ser_core.scoring.crosscorpus`: a model scored on another corpus, on the labels
  both share (``shared_labels``, ``score_shared``, ``evaluate_model``).
* :mod:`~ser_core.scoring.latency`: milliseconds per clip of anything with
  ``predict_audio`` (``latency_per_clip_ms``).

Examples
--------
>>> from ser_core.scoring.metrics import evaluate_predictions
>>> evaluate_predictions(["sad", "happy"], ["sad", "sad"], labels=["happy", "sad"])["accuracy"]
0.5
"""
