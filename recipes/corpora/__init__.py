"""Public emotional-speech corpora laid out as 16 kHz clips with manifests (see README.md)."""
