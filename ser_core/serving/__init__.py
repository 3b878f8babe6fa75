"""Serving a loaded model: files and folders, long recordings, one voice, CSV, Dask workers.

Modules, by job:

* :mod:`~ser_core.serving.segments`: one sliding window for long files, the Predict page
  and the microphone (``SlidingWindows``, ``iter_segments``, ``predict_segments``,
  ``summarize_timeline``, ``SEGMENT_S``, ``HOP_S``).
* :mod:`~ser_core.serving.worker_models`: a model folder shipped to Dask workers
  (``ShippedModel``, ``ship_model``).
* :mod:`~ser_core.serving.predict`: classify files and folders, long ones as a timeline
  (``predict_file``, ``iter_predictions``, ``file_records``, ``predict_batch``,
  ``LONG_RECORDING_S``).
* :mod:`~ser_core.serving.speakers`: speaker adaptation of a loaded model, and a batch
  classified speaker by speaker (``SpeakerCalibration``, ``adapt_to_speaker``,
  ``speaker_of``, ``predict_speakers``).
* :mod:`~ser_core.serving.exports`: predictions as CSV (``csv_columns``,
  ``PredictionsCsv``, ``write_records_csv``, ``records_csv``).

Examples
--------
>>> from ser_core.modelfolder.read import default_model_dir, load_model
>>> from ser_core.serving.predict import predict_file
>>> predict_file("clip.wav", load_model(default_model_dir()))["label"]  # doctest: +SKIP
'happy'
"""
