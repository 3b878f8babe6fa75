"""Training: what decides a run, running a protocol, fitting the model to ship, ensembles.

Modules, by job:

* :mod:`~ser_core.training.config`: what decides a run, checked when made; JSON round
  trip (``TrainConfig``, ``STOP_ON``).
* :mod:`~ser_core.training.train`: every fold of a protocol, then the model fitted on
  every clip (``train``, ``run_protocol``, ``fit_final``, ``save_result``, ``TrainResult``).
* :mod:`~ser_core.training.ensemble`: an ensemble's figures from its members'
  out-of-fold predictions, with no retraining (``combine_protocol``).

Examples
--------
>>> from ser_core.training.config import TrainConfig
>>> from ser_core.training.train import save_result, train
>>> result = train(TrainConfig(model="cnn"), data="../shared/data/ravdess-16k")  # doctest: +SKIP
>>> save_result(result, "artifacts/my-cnn")  # doctest: +SKIP
"""
