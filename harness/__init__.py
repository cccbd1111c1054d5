"""harness: how good is this model on GLUE, frozen and fine-tuned?"""
from harness.errors import HarnessError


def evaluate(*args, **kwargs):
    """See harness.api.evaluate (imported lazily so `harness list` stays instant)."""
    from harness.api import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = ["evaluate", "HarnessError"]
