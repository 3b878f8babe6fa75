"""Training: what decides a run, running a protocol, fitting the model to ship, ensembles.

Modules, by job:

* :mod:`~ser_core.training.config`: what decides a run, nested by concern and checked when
  made; JSON round trip that also reads the flat form of earlier folders (``TrainConfig``
  of ``DataSettings``, ``ProtocolSettings``, ``FitSettings``; ``STOP_ON``).
* :mod:`~ser_core.training.train`: every fold of a protocol (leave-one-corpus-out
  included), then the model fitted on every clip, corpora and classes balanced by sample
  weights (``train``, ``run_protocol``, ``fit_final``, ``balance_weights``, ``save_result``,
  ``TrainResult``).
* :mod:`~ser_core.training.ensemble`: an ensemble's figures from its members'
  out-of-fold predictions, with no retraining (``combine_protocol``).

Examples
--------
>>> from ser_core.training.config import ProtocolSettings, TrainConfig
>>> from ser_core.training.train import save_result, train
>>> config = TrainConfig(model="logistic_regression", protocol=ProtocolSettings("loco"))
>>> result = train(config, data="/work/corpora/all.csv")  # doctest: +SKIP
>>> save_result(result, "artifacts/my-cnn")  # doctest: +SKIP
"""
