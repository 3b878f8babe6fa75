"""Recipes: runs built from ``ser_core``, kept out of the library (as SpeechBrain keeps ``recipes/``).

* :mod:`recipes.default`: the shipped default model, its members and how they are
  combined (``default_members``, ``build_default``); ``python -m ser_core build-default``.
* :mod:`recipes.study`: the study's four systems, as it ran them and cleanly, written to
  ``results/study.md`` (``reproduce_study``; its settings ``STUDY_FEATURES``,
  ``KERAS_SYSTEMS``); ``python -m ser_core reproduce``.

The library never imports a recipe; the CLI imports one inside the command that runs it.
"""
