"""SIGTERM, what a cluster sends before it kills a job (SLURM's scancel and requeue, a Kubernetes eviction),
handled as Ctrl-C is: the run stops, its lock is released, and a requeued `--resume` continues on any host.

A fine-tune that is training asks for one last checkpoint first: the signal is noted, the Trainer saves at the
end of its current step and stops (checkpoints.checkpoint_callback), and only then does the run stop. A step
that does not end within GRACE_S is not waited for: the run stops without that checkpoint, keeping the
previous one. Anything else stops at once.

The CLI installs the handler while it runs (`sigterm_as_interrupt`); a library caller keeps its own signal handling.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

GRACE_S = 10  # how long a training step may take to reach its checkpoint once SIGTERM came
EXIT_STATUS = 128 + signal.SIGTERM  # 143, the shell's status for a process ended by SIGTERM


class Terminated(KeyboardInterrupt):
    """The run was asked to stop (SIGTERM). A KeyboardInterrupt, so that every cleanup done for Ctrl-C (the
    run lock, temporary files) is done for it too."""


class _State:
    """Whether a training loop will save and stop at its next step, and whether SIGTERM has come."""

    saving = False
    requested = False


@contextmanager
def sigterm_as_interrupt():
    """Inside, SIGTERM is handled like Ctrl-C; the previous handler is back on the way out. Only the main thread
    may install a handler (elsewhere the caller's handling stays)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)  # None: set outside Python
        _State.requested = False


def _on_sigterm(signum, frame) -> None:
    if not _State.saving:
        raise Terminated()
    _State.requested = True
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(GRACE_S)


def _out_of_time(signum, frame) -> None:
    raise Terminated()


def requested() -> bool:
    """Whether SIGTERM has come: a training loop saves a checkpoint and stops."""
    return _State.requested


@contextmanager
def checkpointing():
    """Inside: a SIGTERM lets the training loop save and stop (it checks `requested()` after each step), then
    raises Terminated on the way out; outside, it raises at once."""
    _State.saving, _State.requested = True, False
    try:
        yield
    finally:
        _State.saving = False
        signal.alarm(0)
    if _State.requested:
        raise Terminated()
