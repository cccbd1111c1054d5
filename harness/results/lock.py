"""One run at a time per run folder: a lock file naming its owner (pid, host, start time).

Two processes evaluating the same model, task, mode and seed into one reports folder would replace
each other's result and delete each other's checkpoints, so the second stops before any compute. The
lock file is the claim; a lock left by a process that died (kill -9, a crash) is reclaimed with a
warning once this host can tell that its owner is gone, i.e. the owner ran on this host, in this pid
namespace, and no longer runs. A lock held from another host is never taken over: its message says
which file to delete once that run is known to be dead.

Reading and replacing the claim is serialised by a kernel lock (flock) on the lock file, held for
microseconds and released by the kernel whatever happens to its holder; holding flock for the whole
run instead would pass the lock to any child forked meanwhile and outlive a killed owner.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from harness.errors import ConfigError, RunInUseError

log = logging.getLogger("harness")
LOCK_FILE = "run.lock"
_GUARD_WAIT_S = 10.0  # others hold the guard for microseconds; this long means something is wrong


@dataclass(frozen=True)
class Owner:
    """Who holds a run folder: enough to tell, from this host, whether that process still runs."""

    pid: int
    host: str
    pid_namespace: str | None
    started: str  # local time the lock was taken, for people

    @classmethod
    def this_process(cls) -> "Owner":
        return cls(os.getpid(), socket.gethostname(), _pid_namespace(), datetime.now().isoformat(timespec="seconds"))

    @classmethod
    def parse(cls, text: str) -> "Owner | None":
        """The owner a lock file names; None for an empty or unreadable one (its writer died mid-write)."""
        try:
            raw = json.loads(text)
            owner = cls(int(raw["pid"]), str(raw["host"]), raw["pid_namespace"], str(raw["started"]))
        except (ValueError, TypeError, KeyError):
            return None
        return owner if owner.pid > 0 else None

    def is_gone(self) -> bool:
        """True only where this host can see that the owner no longer runs."""
        if self.host != socket.gethostname() or self.pid_namespace != _pid_namespace():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # it runs, as another user
            return False
        return False

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.started}"


def _pid_namespace() -> str | None:
    """Which pid numbering this process sees (containers on one host each have theirs)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


@contextmanager
def run_lock(directory: Path):
    """Hold `directory` (created if need be) for this process while the block runs."""
    path = Path(directory) / LOCK_FILE
    owner = _acquire(path)
    try:
        yield
    finally:
        _release(path, owner)


def _acquire(path: Path) -> Owner:
    try:
        return _claim(path)
    except OSError as err:
        raise ConfigError(f"cannot write the lock file {path} ({err.strerror or err}); pass an --output-dir "
                          "you can write to") from err


def _claim(path: Path) -> Owner:
    with _guarded(path) as handle:
        text = handle.read()
        previous = Owner.parse(text)
        if previous is not None and not previous.is_gone():
            raise RunInUseError(
                f"{path.parent} is in use by another run ({previous.describe()}); wait for it to finish or pass "
                f"another --output-dir (if that process is dead, delete {path})")
        if previous is not None:
            log.warning("%s: reclaimed the lock of %s, which is no longer running", path, previous.describe())
        elif text.strip():
            log.warning("%s: replaced an unreadable lock file (its writer stopped while writing it)", path)
        owner = Owner.this_process()
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(owner)))
        handle.flush()
        os.fsync(handle.fileno())
    return owner


def _release(path: Path, owner: Owner) -> None:
    """Delete the lock file if it still names this process, and the run folder if the run left it empty."""
    try:
        with _guarded(path, create=False) as handle:
            if Owner.parse(handle.read()) == owner:
                path.unlink()  # under the guard: a contender that opened this file finds it gone and retries
    except FileNotFoundError:
        pass
    try:
        path.parent.rmdir()
    except OSError:
        pass  # not empty: the run wrote its result there


@contextmanager
def _guarded(path: Path, create: bool = True):
    """The lock file open for reading and writing, under an exclusive flock, and still the one at `path`
    (a holder that deleted it after we opened it leaves us an orphan file: open the new one)."""
    deadline = time.monotonic() + _GUARD_WAIT_S
    while True:
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        except (FileNotFoundError, FileExistsError):
            if create and time.monotonic() < deadline:
                continue  # another run removed the empty folder between our mkdir and open
            raise
        handle = os.fdopen(fd, "r+", encoding="utf-8", errors="replace")
        try:
            _flock(fd, path, deadline)
            if _same_file(fd, path):
                yield handle
                return
            if not create:
                raise FileNotFoundError(path)
        finally:
            handle.close()  # closing releases the flock


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _flock(fd: int, path: Path, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() > deadline:
            raise RunInUseError(f"cannot lock {path}: another process has held it for {_GUARD_WAIT_S:.0f} s; "
                                "is a run stopped (Ctrl-Z) while taking it?")
        time.sleep(0.01)
