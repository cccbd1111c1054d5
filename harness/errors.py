"""One error family: every message says what went wrong and what to do next.

The CLI prints a HarnessError without a traceback and exits with status 2.
"""
import functools


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A bad option, flag combination or task definition."""


class TaskError(HarnessError):
    """An unknown task, suite or format."""


class DataError(HarnessError):
    """Missing, unreadable or malformed data (names the file, line and field)."""


class ModelError(HarnessError):
    """A model that cannot be resolved or loaded."""


class RunInUseError(HarnessError):
    """Another process is writing the same run folder."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, said as what to do next. A KeyboardInterrupt still, not a HarnessError: a caller's
    `except Exception` must never swallow a Ctrl-C."""


def interruptible(function):
    """`function` with a Ctrl-C raised as Interrupted (finished results are kept; resume=True continues), in place
    of the KeyboardInterrupt traceback through whatever library was computing."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except KeyboardInterrupt as stop:
            if type(stop) is not KeyboardInterrupt:  # already says why it stopped (Interrupted, SIGTERM's Terminated)
                raise
            raise Interrupted("interrupted; finished results are kept: rerun with resume=True (--resume) to "
                              "continue") from None

    return run
