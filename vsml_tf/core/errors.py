"""The one error type for user errors: bad config values, data, shapes, checkpoints.

The command-line tools catch `UserError` and print its message as one line; any other
exception is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """A mistake the user can fix; the message names the problem and the fix."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or directory the user named (or must create first) does not exist."""
