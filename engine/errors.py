"""Errors raised by runyard.engine.

Every error is a RuntimeError (as Simvue's are), so code written for Simvue
that catches RuntimeError keeps working.
"""

import contextlib


class RunyardError(RuntimeError):
    """Base of every error runyard raises on purpose."""


class RootError(RunyardError):
    """The runs root is missing, unreadable or of an unknown schema."""


class RunNotFound(RunyardError):
    """No run matches the reference given."""


class AmbiguousRun(RunyardError):
    """More than one run matches the reference given."""


class SchemaError(RunyardError):
    """A meta folder was written with a schema this version cannot read."""


class UnreadableRun(RunyardError):
    """A run's meta folder exists but its record cannot be read."""


class UsageError(RunyardError, ValueError):
    """The API was called wrongly: a bad argument, or a call in the wrong state.

    Raised at once whatever ``suppress_errors`` says, so that misuse shows in a
    job's first seconds rather than after hours.
    """


class OperationalError(RunyardError):
    """Recording failed for a reason outside the caller's code (disk, permissions).

    Raised only with ``suppress_errors=False``; otherwise logged once and counted.
    """


class LockTimeout(RunyardError):
    """A run's lock file was held by another process far longer than any update."""


@contextlib.contextmanager
def usage_errors(*kinds: type[Exception]):
    """A checker's ``ValueError`` (or ``kinds``) raised inside, as a UsageError with
    its message: what a caller of the API did wrong, said in the checker's words."""
    caught = kinds or (ValueError,)
    try:
        yield
    except UsageError:
        raise
    except caught as exc:
        raise UsageError(str(exc)) from None
