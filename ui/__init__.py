"""The dashboard's glue: caching, widgets, page sections, hosting, background jobs and live audio.

aiortc (behind streamlit-webrtc) bundles a native SRTP library that crashes the whole
process (segmentation fault) when it is first imported after tensorflow. Any page may
load a Keras model before the live microphone is opened, so it is imported here,
before any page can import tensorflow. It costs about 0.2 s and imports neither
tensorflow nor torch.
"""

import aiortc  # noqa: F401  (import order matters, see above)
