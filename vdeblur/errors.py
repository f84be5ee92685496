"""Errors the API raises and the CLI turns into one line on stderr and a non-zero exit.

Every error vdeblur raises on purpose derives from VdeblurError; its message is the whole explanation and
reads the same from Python as from the command line.
"""


import signal

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


class Interrupted(VdeblurError):
    """Raised after a stop by signal; the partial output has been written. summary: the run summary."""

    def __init__(self, signum: int, output, frames: int, summary: dict | None = None, note: str = "",
                 twice: bool = False):
        self.exit_code = 128 + signum
        self.summary = summary
        name = signal.Signals(signum).name
        if note:
            text = f"interrupted by {name}: {note}"
        elif twice:
            text = (f"interrupted twice: kept the {frames} frames already in {output} (partial output; the "
                    f"frames still in the encoder were dropped)")
        else:
            text = f"interrupted by {name}: wrote {frames} frames to {output} (partial output)"
        super().__init__(text)


class BatchInterrupted(VdeblurError):
    """`vdeblur batch` stopped by a signal; the finished chunks are kept for the next run."""

    exit_code = 130

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.exit_code = 128 + signum


class BatchFailed(VdeblurError):
    """Some files of a batch failed after the others were done. summary: the batch summary."""

    exit_code = 3

    def __init__(self, message: str, summary: dict):
        self.summary = summary
        super().__init__(message)
