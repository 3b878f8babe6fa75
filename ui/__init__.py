"""The dashboard's glue: caching, widgets, page sections, hosting, background jobs and live audio.

aiortc (behind streamlit-webrtc) bundles a native SRTP library that crashes the whole
process (segmentation fault) when it is first imported after tensorflow. Loading a model
is the one road by which tensorflow could enter the dashboard's process, so
:mod:`ui.cache` imports aiortc before it loads any model (and in its background warm-up);
this package does not, so Home opens without it (about 0.2 s).
"""
