"""One run at a time per run folder: a second run stops before any compute; a dead owner's lock is reclaimed."""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import time

import pytest

from harness.cli import main
from harness.errors import RunInUseError
from harness.models import resolve_model
from harness.results.lock import LOCK_FILE, Owner, run_lock


def _dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _lock_file(folder, **owner) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "pid_namespace": Owner.this_process().pid_namespace,
              "started": "2025-01-01T00:00:00", **owner}
    (folder / LOCK_FILE).write_text(json.dumps(record))


def test_a_second_run_into_the_same_folder_stops_before_any_compute(tiny_model_dir, glue_dir, tmp_path, capsys,
                                                                    monkeypatch):
    import harness.api

    def computes(*args, **kwargs):
        raise AssertionError("a refused run computed")

    monkeypatch.setattr(harness.api._Context, "run", computes)
    slug = resolve_model(str(tiny_model_dir)).slug
    folder = tmp_path / slug / "glue" / "sst2" / "finetune-seed42"
    with run_lock(folder):  # the first run, in progress
        code = main(["eval", "--model", str(tiny_model_dir), "--tasks", "sst2", "--mode", "both", "--data-dir",
                     str(glue_dir), "--output-dir", str(tmp_path), "--device", "cpu", "--quiet"])
        assert code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith(f"harness: error: {folder} is in use by another run (pid {os.getpid()} on "
                              f"{socket.gethostname()}, since ")
        assert f"delete {folder / LOCK_FILE}" in err
        assert (folder / LOCK_FILE).is_file()  # the first run's lock is left alone
    assert not (folder / LOCK_FILE).exists() and not folder.exists()  # released, and the empty folder removed
    assert not (tmp_path / slug / "glue" / "sst2" / "frozen-seed42").exists()


def test_a_lock_left_by_a_dead_process_is_reclaimed_with_a_warning(tmp_path, caplog):
    dead = _dead_pid()
    _lock_file(tmp_path, pid=dead)
    with caplog.at_level(logging.WARNING, logger="harness"):
        with run_lock(tmp_path):
            owner = json.loads((tmp_path / LOCK_FILE).read_text())
            assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname() and owner["started"]
    assert f"reclaimed the lock of pid {dead} on {socket.gethostname()}, since 2025-01-01T00:00:00" in caplog.text
    assert not (tmp_path / LOCK_FILE).exists()


@pytest.mark.parametrize("owner", [{"host": "another-host"}, {"pid_namespace": "pid:[1]"}, {"alive": True}])
def test_a_lock_this_host_cannot_prove_dead_is_never_taken_over(tmp_path, owner):
    """Another host's or another container's pid (dead here, maybe not there), or a live process (pid 1):
    refused, naming the file to delete."""
    pid = 1 if owner.pop("alive", False) else _dead_pid()
    _lock_file(tmp_path, pid=pid, **owner)
    with pytest.raises(RunInUseError, match=f"in use by another run \\(pid {pid} on .*delete {tmp_path / LOCK_FILE}"):
        with run_lock(tmp_path):
            pass
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == pid


def test_an_unreadable_lock_file_is_replaced_with_a_warning(tmp_path, caplog):
    (tmp_path / LOCK_FILE).write_bytes(b'{"pid": 12\xff')  # its writer died mid-write
    with caplog.at_level(logging.WARNING, logger="harness"):
        with run_lock(tmp_path):
            assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert "replaced an unreadable lock file" in caplog.text


def _contend(folder, log_path, rounds: int) -> None:
    """Take the lock `rounds` times, noting entry and exit; refusals are retried."""
    taken = 0
    while taken < rounds:
        try:
            with run_lock(folder):
                with open(log_path, "a") as out:
                    out.write(f"{os.getpid()} in\n")
                time.sleep(0.002)
                with open(log_path, "a") as out:
                    out.write(f"{os.getpid()} out\n")
            taken += 1
        except RunInUseError:
            time.sleep(0.001)


def test_contending_processes_never_hold_one_folder_at_once(tmp_path):
    folder, log_path = tmp_path / "run", tmp_path / "log"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_contend, args=(folder, log_path, 15)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    lines = log_path.read_text().splitlines()
    assert len(lines) == 4 * 15 * 2
    for entered, left in zip(lines[::2], lines[1::2]):  # strictly alternating, each exit by whoever entered
        assert entered.endswith(" in") and left == entered.replace(" in", " out")
