"""The one base class for errors a user can fix: the CLI prints them as a
single `error: ...` line (naming the file, line or field) instead of a traceback."""


class DripError(Exception):
    pass
