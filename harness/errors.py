"""One error family: every message says what went wrong and what to do next.

The CLI prints a HarnessError without a traceback and exits with status 2.
"""


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
