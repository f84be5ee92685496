"""Errors the CLI turns into one line on stderr and a non-zero exit."""


class VdeblurError(Exception):
    """Base class: the message is the whole user-facing explanation."""

    exit_code = 2


class InputError(VdeblurError):
    pass


class OutputError(VdeblurError):
    pass


class ModelError(VdeblurError):
    pass


class BackendError(VdeblurError):
    pass


class DamagedInput(VdeblurError):
    """The input had undecodable parts; everything decodable was written."""

    exit_code = 3
