"""Errors that carry a message a person can act on."""


class RestoreLabError(Exception):
    """Base for expected failures; ``str(err)`` is shown to the user as is."""


class ImageError(RestoreLabError):
    """An image could not be read or written."""


class ModelError(RestoreLabError):
    """A model could not be found, loaded, built or imported."""


class ConfigError(RestoreLabError):
    """A configuration or option is invalid."""


class JobAborted(Exception):
    """Raised inside a job when the user aborts it."""
