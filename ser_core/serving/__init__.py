"""Serving a loaded model: files and folders, long recordings, one voice, CSV, Dask workers.

Modules, by job:

* :mod:`~ser_core.serving.segments`: one sliding window for long files, the Predict page
  and the microphone, and the window settings written once (``SlidingWindows``,
  ``iter_segments``, ``predict_segments``, ``SEGMENT_S``, ``HOP_S``, ``LIVE_HOP_S``,
  ``LONG_CLIP_S``).
* :mod:`~ser_core.serving.worker_models`: a model folder shipped to Dask workers
  (``ShippedModel``, ``ship_model``).
* :mod:`~ser_core.serving.predict`: classify files and folders, long ones as a timeline
  (``predict_file``, ``iter_predictions``, ``file_predictions``, ``predict_batch``).
* :mod:`~ser_core.serving.speakers`: speaker adaptation of a model, and a batch
  classified speaker by speaker (``SpeakerAdaptation``, ``adapt_to_speaker``,
  ``adapt_from_features``, ``speaker_of``, ``predict_speakers``).
* :mod:`~ser_core.serving.exports`: predictions as CSV (``csv_columns``, ``csv_row``,
  ``PredictionsCsv``, ``write_predictions_csv``, ``predictions_csv``).

Every result is a :class:`~ser_core.modelfolder.prediction.Prediction` (a
:class:`~ser_core.modelfolder.prediction.Timeline` of them for a long recording), the
same object from the model to the CLI and the pages.

Examples
--------
>>> from ser_core.modelfolder.read import default_model_dir, load_model
>>> from ser_core.serving.predict import predict_file
>>> predict_file("clip.wav", load_model(default_model_dir())).label  # doctest: +SKIP
'happy'
"""
