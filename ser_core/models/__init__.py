"""Model families: the study's Keras networks, a log-mel CNN (torch), a speaker-adapted linear model,
scikit-learn pipelines and Wav2Vec2 + random forest.

Every model is a scikit-learn style estimator (``fit`` returns ``self``, ``predict``,
``predict_proba``, ``classes_``, :class:`~ser_core.errors.NotFittedError` before
``fit``; :class:`ser_core.models.base.SERClassifier`) that saves to and loads from a folder
(without pickle; scikit-learn pipelines through :mod:`ser_core.models.sklearn_state`). Build one by name
with :func:`ser_core.models.registry.make_model`.

Serving the networks without their frameworks: :mod:`ser_core.models.onnx_export` turns
the log-mel CNN, the Keras networks and the MLP into ONNX graphs (written as protobuf bytes
by :mod:`ser_core.models.onnx_proto`, which needs no ``onnx`` package),
:mod:`ser_core.models.onnx_runtime` serves a graph with onnxruntime alone, and
:mod:`ser_core.models.isolated` runs a network that has no graph in a child process.
"""
