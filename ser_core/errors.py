"""One small error hierarchy for the whole package.

Pages and the CLI catch :class:`SERError` and show its message; input problems are
also ``ValueError`` so generic callers can treat them as bad arguments.
"""


class SERError(Exception):
    """Root of every error ser_core raises on purpose."""


class InputError(SERError, ValueError):
    """The caller handed us something unusable (a file, a setting, an array)."""


class AudioError(InputError):
    """Audio that cannot be decoded or used."""


class EmptyAudioError(AudioError):
    """A file or buffer with no bytes or no samples."""


class DecodeError(AudioError):
    """Bytes that no available decoder understands."""


class SilentAudioError(AudioError):
    """Audio that is silence from start to end."""


class TooShortError(AudioError):
    """Audio shorter than the minimum duration after trimming."""


class InvalidSamplesError(AudioError):
    """Samples that contain NaN or infinity."""


class TooLongError(AudioError):
    """Audio longer than the caller allows."""


class CorpusError(InputError):
    """A dataset path or archive that cannot be indexed."""


class FeatureError(InputError):
    """An unknown feature kind or settings that do not fit together."""


class ModelError(SERError):
    """A model that cannot be built, trained or used."""


class NotFittedError(ModelError, ValueError):
    """A model used before ``fit``."""


class ArtifactError(ModelError, ValueError):
    """A model folder that is missing, incomplete, corrupt or from an incompatible version."""


class DownloadError(SERError):
    """A download that failed (network, integrity or size)."""


class OfflineError(DownloadError):
    """The network (or the model hub) cannot be reached."""


class TrainingCancelled(SERError):
    """Training stopped because the caller asked it to."""


class ClusterError(SERError):
    """A Dask scheduler that cannot be reached, has no workers, or lost a job."""
