"""User-facing errors.

A ``GankitError`` is a mistake in what the user asked for (a bad path, an
unknown key, a corrupt file). The CLI prints it as one line and exits with
status 2; any other exception is a bug and keeps its traceback.
"""


class GankitError(Exception):
    """A problem with the user's input, reported without a traceback."""
