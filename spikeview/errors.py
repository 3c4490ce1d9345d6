"""User-facing errors.

Every error a user can cause (bad file, bad checkpoint, missing camera...) is raised as a
:class:`SpikeViewError` subclass whose message is one readable line. The CLI prints that
line and exits non-zero; the GUI shows it in a dialog. Anything else is a bug and keeps
its traceback.
"""


class SpikeViewError(Exception):
    """Base class of errors caused by input, not by a bug."""


class ImageReadError(SpikeViewError):
    """An image file is missing, unreadable, corrupt or of an unsupported kind."""


class ImageWriteError(SpikeViewError):
    """An output image could not be written (or would overwrite an input)."""


class CheckpointError(SpikeViewError):
    """A checkpoint is missing, corrupt, unsafe or does not match the architecture."""


class ModelNotFoundError(SpikeViewError):
    """No registered architecture or shipped model has the requested name."""


class VideoError(SpikeViewError):
    """A video file or camera cannot be opened, read or written."""


class DeviceError(SpikeViewError):
    """The requested compute device is not available on this machine."""


class ConfigError(SpikeViewError):
    """A configuration file or option is invalid."""
