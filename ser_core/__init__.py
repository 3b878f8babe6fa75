"""Speech emotion recognition studio: corpus, audio, features, models and CLI."""

__version__ = "0.1.0"
