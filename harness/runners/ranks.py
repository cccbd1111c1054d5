"""Frozen extraction shared out over the processes of one launch (`torchrun`, `accelerate launch`).

Every process of a launch runs the same evaluation. Fine-tuning trains in step on every rank (Trainer's data
parallelism); a frozen run is rank 0's: where its FeatureExtractor misses the cache, rank 0 orders the items by
token length, cuts the batches one process would run, deals them round robin over the ranks (rank r gets
batches r, r + N, ...: every rank a like mix of short and long ones) and sends each rank its share. Each rank
extracts its share with the single-process code, which cuts the very same batches from it, so the numbers are
one process's; the rows come back to rank 0, which puts them in place, caches them and trains the head. The
other ranks do nothing else during a frozen run (`serve`) and write nothing; at its end they receive its
results, so that evaluate() returns the same on every rank.

Shares and rows travel on the CPU over gloo (a group of its own where the launch's is nccl); a rank holds its
share's rows in memory until rank 0 has them (token states too, which one process writes straight to disk).
"""
from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable

import numpy as np

from harness.errors import HarnessError

_DONE = "done"  # rank 0's last message of a frozen run, with its results


def launched() -> bool:
    """Whether this process is one of several of a launch: WORLD_SIZE above 1 (torchrun, accelerate launch), or a
    process group already initialised (which needs torch.distributed imported: a single process never imports
    torch to find out)."""
    dist = sys.modules.get("torch.distributed")
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or bool(dist and dist.is_available() and dist.is_initialized())


def rank_device(device: str) -> str:
    """This rank's device: under a launch, "cuda" is the GPU of the process's LOCAL_RANK."""
    return f"cuda:{os.environ['LOCAL_RANK']}" if device == "cuda" and "LOCAL_RANK" in os.environ else device


class Shards:
    """The ranks of a launch, from the side of one of them; see the module's docstring."""

    def __init__(self, rank: int, world: int, group=None):
        self.rank, self.world, self.group = rank, world, group

    @classmethod
    def join(cls, device: str) -> Shards:
        """The launch's ranks, with the process group initialised where the launcher left it to the program (gloo
        on CPU, nccl on CUDA, as Trainer would); every rank must call this at the same point."""
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            if device.startswith("cuda"):
                torch.cuda.set_device(torch.device(device))
            dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
            atexit.register(dist.destroy_process_group)
        group = None if "gloo" in dist.get_backend() else dist.new_group(backend="gloo")
        return cls(dist.get_rank(), dist.get_world_size(), group)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def deal(self, batches: list[list[int]]) -> list[list[int]]:
        """Each rank's items: batches r, r + N, ... of the length-ordered `batches`, in that order."""
        return [[index for batch in batches[rank::self.world] for index in batch] for rank in range(self.world)]

    def gather(self, rows_of: Callable[[Callable, list, dict], np.ndarray], extract: Callable, kwargs: dict,
               items: list, shares: list[list[int]], place: Callable[[list[int], np.ndarray], None]) -> None:
        """Rank 0: send every other rank its share of `items` (`shares`, from deal) to extract, extract its own
        (`rows_of(extract, share, kwargs)` gives a share's rows), then `place(share, rows)` for every rank's, its
        own first."""
        self._scatter([(extract, [items[i] for i in share], kwargs) for share in shares])
        own = rows_of(extract, [items[i] for i in shares[0]], kwargs)
        place(shares[0], own)
        for rank, share in enumerate(shares[1:], start=1):
            if share:
                place(share, self._receive(rank, own.ndim))

    def serve(self, rows_of: Callable[[Callable, list, dict], np.ndarray]) -> list:
        """Any other rank: extract the shares rank 0 sends (`rows_of`, as in gather) and send the rows back, until
        rank 0's frozen run ends; returns that run's results."""
        while True:
            message = self._scatter(None)
            if message[0] == _DONE:
                if message[1] is None:
                    raise HarnessError("rank 0 stopped before its frozen run finished; its error says why")
                return message[1]
            extract, share, kwargs = message
            if share:
                self._send(rows_of(extract, share, kwargs))

    def finish(self, results: list | None) -> None:
        """Rank 0, at the end of each frozen run: release the other ranks with its results (None: it failed)."""
        self._scatter([(_DONE, results)] * self.world)

    def _scatter(self, messages: list | None):
        """Rank 0 sends messages[r] to each rank r; every rank returns its own."""
        import torch.distributed as dist

        received = [None]
        dist.scatter_object_list(received, messages, src=0, group=self.group)
        return received[0]

    def _send(self, rows: np.ndarray) -> None:
        import torch
        import torch.distributed as dist

        dist.send(torch.tensor(rows.shape, dtype=torch.int64), dst=0, group=self.group)
        dist.send(torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)), dst=0, group=self.group)

    def _receive(self, rank: int, ndim: int) -> np.ndarray:
        import torch
        import torch.distributed as dist

        shape = torch.empty(ndim, dtype=torch.int64)
        dist.recv(shape, src=rank, group=self.group)
        rows = torch.empty(tuple(shape.tolist()), dtype=torch.float32)
        dist.recv(rows, src=rank, group=self.group)
        return rows.numpy()
