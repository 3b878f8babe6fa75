"""The model folder: a trained model on disk, self-describing, written atomically, read safely.

Modules, by job:

* :mod:`~ser_core.modelfolder.results`: the format of ``metrics.json`` (``ModelMetrics``,
  ``ProtocolResult``, ``METRICS_VERSION``).
* :mod:`~ser_core.modelfolder.card`: the model card, ``MODEL_CARD.md`` (``model_card``,
  ``describe_preprocessing``).
* :mod:`~ser_core.modelfolder.reliability`: how often the model was right at each level of its
  top score on speakers it never heard, from ``predictions.npz`` (``folder_reliability``,
  ``Reliability``); the card prints it and the Predict page words a score from it.
* :mod:`~ser_core.modelfolder.prediction`: what a model says, one type for every surface:
  a clip or window (``Prediction``), a recording's windows (``Timeline``) and its headline
  (``TimelineSummary``).
* :mod:`~ser_core.modelfolder.loaded`: a loaded model, audio in and a ``Prediction`` out,
  features in and temperature-scaled probabilities out; the calls every model kind answers
  (``Predictor``, ``LoadedModel``, ``EnsembleModel``).
* :mod:`~ser_core.modelfolder.read`: the folder format, names, trust and loading
  (``FORMAT_VERSION``, ``artifacts_root``, ``is_trusted``, ``load_model``,
  ``list_artifacts``, ``default_model_dir``, ``set_default_model``).
* :mod:`~ser_core.modelfolder.save`: the one road that writes a folder
  (``save_artifact``, ``save_ensemble``, ``update_metrics``).
* :mod:`~ser_core.modelfolder.export`: a network's ONNX graph, checked on real clips
  when the folder is saved, or added to an older folder (``export_checked``, ``add_export``).

Crash-safe writes themselves are :mod:`ser_core.atomic`.

Examples
--------
>>> from ser_core.modelfolder.read import default_model_dir, load_model
>>> model = load_model(default_model_dir())  # doctest: +SKIP
>>> model.predict_audio("clip.wav").label  # doctest: +SKIP
'angry'
"""
