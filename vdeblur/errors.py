"""Errors the API raises and the CLI turns into one line on stderr and a non-zero exit.

Every error vdeblur raises on purpose derives from VdeblurError; its message is the whole explanation and
reads the same from Python as from the command line.
"""


from .urls import mask_text


class VdeblurError(Exception):
    """Base class: the message is the whole user-facing explanation, with every URL's secrets masked
    (whatever built it). exit_code: what the CLI returns."""

    exit_code = 2

    def __init__(self, message: str = "", *args):
        super().__init__(mask_text(str(message)), *args)


class UsageError(VdeblurError, ValueError):
    """A bad option value or combination (also a ValueError, as Python code expects for bad arguments)."""


class UnknownOption(VdeblurError, TypeError):
    """A keyword the API does not know (also a TypeError, as Python raises for an unexpected keyword)."""


class InputError(VdeblurError):
    pass


class OutputError(VdeblurError):
    pass


class ModelError(VdeblurError):
    pass


class BackendError(VdeblurError):
    pass


class DamagedInput(VdeblurError):
    """The input was damaged or shorter than its container announces; every frame that decoded was written
    (the output is complete and playable). summary: the run summary (as deblur_file would have returned)."""

    exit_code = 3

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary


class OutputClosed(VdeblurError):
    """The reader of a pipe or stream OUTPUT went away (EPIPE): the run stops, what it read is complete."""

    exit_code = 141     # 128 + SIGPIPE, what a shell reports for a writer killed by its reader going away
