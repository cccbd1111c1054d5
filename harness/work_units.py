"""A sweep's work units, and the deterministic share of them each machine of a job array runs.

A work unit is one trained model: a task in one mode, for one seed and one training size, together with
the tasks scored by that model (MNLI's unit also scores MNLI-mismatched and AX), which must run where it
trains. Every unit writes its own run folder, so shares run on different machines into one reports
folder add up to the whole sweep; the leaderboard is rendered once they all have.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.results import RESULT_FILE, run_dir


@dataclass(frozen=True)
class WorkUnit:
    task: str  # the trained task's id, e.g. glue/mnli
    mode: str  # frozen | finetune
    seed: int
    train_size: int | None  # as --train-sizes asked for it; None: the whole train split
    scored: tuple[str, ...] = ()  # the tasks scored with this unit's model

    def describe(self, with_seed: bool = True) -> str:
        """glue/mnli finetune seed 42, train size 1,000 (+ glue/ax): one line of `harness plan`."""
        text = f"{self.task} {self.mode}" + (f" seed {self.seed}" if with_seed else "")
        if self.train_size is not None:
            text += f", train size {self.train_size:,}"
        return text + (f" (+ {', '.join(self.scored)})" if self.scored else "")

    def folder(self, output_dir: str | Path, model_slug: str) -> Path:
        suite, name = self.task.split("/", 1)
        return run_dir(Path(output_dir), model_slug, suite, name, self.mode, self.seed, self.train_size)


def work_units(groups: list[tuple[str, list[str]]], modes: list[str], seeds: list[int],
               train_sizes: list[int | None] | None) -> list[WorkUnit]:
    """Every unit of an evaluation, in the order it runs them: seed, then task (each trained task with the
    ids of the tasks scored by its model), then train size (smallest first, the whole split last), then mode."""
    sizes = sorted(set(train_sizes or [None]), key=lambda size: (size is None, size or 0))
    return [WorkUnit(task, mode, seed, size, tuple(scored))
            for seed in seeds for task, scored in groups for size in sizes for mode in modes]


def share(units: list[WorkUnit], index: int, count: int) -> list[WorkUnit]:
    """The index-th of `count` contiguous blocks of the plan, as even as the count allows: a task's sizes and
    modes stay together where they can, so a machine reuses its own feature cache across them."""
    return units[len(units) * index // count:len(units) * (index + 1) // count]


def unit_of_run(units: list[WorkUnit], task: str, mode: str, seed: int, size: int | None,
                train_rows: int) -> WorkUnit:
    """The unit a run of the plan belongs to. A size at or beyond the task's train split runs as the whole
    split (harness.data.sizes.clamp_sizes), once: under the first unit that asks for it."""
    def runs_as(unit: WorkUnit) -> int | None:
        return None if unit.train_size is None or unit.train_size >= train_rows else unit.train_size

    return next(unit for unit in units if (unit.task, unit.mode, unit.seed) == (task, mode, seed)
                and runs_as(unit) == size)


def resume_keeps(resume: bool, folder: Path, scores_others: bool) -> bool:
    """Whether --resume keeps a unit's finished result as it is: not when its model also scores other
    tasks, which are scored again from a retrained model."""
    return resume and not scores_others and (folder / RESULT_FILE).is_file()

