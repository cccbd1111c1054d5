"""The two ways to run a model on a task. Both expose fit(train) and predict(examples)."""
from __future__ import annotations

import os


def is_main_process() -> bool:
    """True on the process that writes results (rank 0 under torchrun / accelerate)."""
    return int(os.environ.get("RANK", "0")) == 0
