"""The `harness` command: argument parsing and printing only; every command calls the Python API."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

from harness import preemption
from harness.errors import HarnessError


# Each command and what it does; its options are declared in harness.config (COMMANDS).
COMMAND_HELP = {
    "list": "list tasks, model aliases, or the tasks' metrics as evaluate modules",
    "eval": "evaluate a model on tasks, frozen and/or fine-tuned",
    "plan": "list the work units `harness eval` with the same options runs, one a line, in the order it runs them "
            "(with --shard I/N: that share's)",
    "leaderboard": "write markdown leaderboards from a reports folder",
    "report": "write RUN_DIR/report.md: one run's scores, errors and provenance",
    "export": "results as Hub model-card metadata (model-index YAML), a model card with intervals and provenance, "
              "or a flat CSV",
}


def build_parser() -> argparse.ArgumentParser:
    from harness.config import COMMANDS

    parser = argparse.ArgumentParser(prog="harness", description="Evaluate language models on GLUE, frozen and fine-tuned.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command, described in COMMAND_HELP.items():
        _add_options(commands.add_parser(command, help=described), COMMANDS[command])
    return parser


def _add_options(parser: argparse.ArgumentParser, settings: tuple[type, ...]) -> None:
    """One argument per declared field (harness.config), so flags, help and defaults are written once.

    A generator of our own rather than transformers' HfArgumentParser: importing transformers would
    make `harness list tasks` take seconds, and the declarations need only a few argparse calls.
    """
    from harness.config import EXCLUSIVE_GROUPS, options_of

    declared_here = [declared for kind in settings for declared in options_of(kind)]
    groups = {name: parser.add_mutually_exclusive_group(required=EXCLUSIVE_GROUPS[name])
              for name in dict.fromkeys(declared.group for declared in declared_here if declared.group)}
    for declared in declared_here:
        target = groups[declared.group] if declared.group else parser
        if declared.positional:
            target.add_argument(declared.name, metavar=declared.positional, nargs=_nargs(declared),
                                **_argparse_keywords(declared))
        else:
            target.add_argument(declared.flag, required=declared.required, **_argparse_keywords(declared))


def _nargs(declared) -> str | None:
    """A positional list takes one or more values; an optional one may be left out."""
    if declared.kind is not str:
        return "+"
    return None if declared.required else "?"


def _argparse_keywords(declared) -> dict:
    """A switch for a bool field; otherwise a value converted, defaulted and limited as declared."""
    described = declared.help.replace("%", "%%")  # argparse formats help with %
    if declared.kind is bool:
        return {"action": "store_true", "help": described}
    shown = declared.default_text()
    return {"type": declared.parse or declared.kind, "default": declared.default, "choices": declared.choices,
            "help": f"{described} (default: {shown})" if shown else described}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    if quiet:
        _silence_libraries()
    try:
        with preemption.sigterm_as_interrupt():
            return {"list": _list, "eval": _eval, "plan": _plan, "leaderboard": _leaderboard, "report": _report,
                    "export": _export}[args.command](args)
    except HarnessError as err:
        print(f"harness: error: {err}", file=sys.stderr)
        return 2
    except preemption.Terminated:
        print("harness: terminated (SIGTERM); finished results and the last checkpoint are kept, the run folder is "
              "released: rerun with --resume to continue", file=sys.stderr)
        return preemption.EXIT_STATUS
    except KeyboardInterrupt:
        print("harness: interrupted; finished results are kept, rerun with --resume to continue", file=sys.stderr)
        return 130


def _silence_libraries() -> None:
    """--quiet: no progress bars or info logs from transformers, datasets and the Hub either. The libraries read
    these variables when they load (a run whose features are cached never loads transformers); one loaded
    already (main() called in a process that imported it) is told directly."""
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def _list(args) -> int:
    from harness.config import Listing

    listing = Listing.from_values(vars(args))
    if listing.what == "models":
        from harness.models import ALIASES, MAJORITY, RANDOM_PREFIX

        for alias, hub_id in sorted(ALIASES.items()):
            print(f"{alias:24} {hub_id}")
        print(f"{MAJORITY:24} baseline: no model, the training split's most frequent label (mean score, tag, head "
              "rule; first candidate, empty answer)")
        print(f"{RANDOM_PREFIX + '<model>':24} control: that model's architecture and tokenizer, weights initialised "
              "from --seed")
        return 0
    from harness.tasks import REGISTRY

    specs, broken = REGISTRY.load_all(listing.suite)
    if listing.what == "metrics":
        _list_metrics(specs)
    else:
        rows = [("task", "format", "kind", "metrics", "main score")]
        for spec in specs:
            main = " + ".join(spec.main_score) if len(spec.main_score) > 1 else spec.main_score[0]
            rows.append((spec.id, ",".join(spec.formats), spec.kind, ",".join(spec.metrics), main))
        _print_table(rows)
    for err in broken:  # listed after the tasks that load, one line each
        print(f"harness: error: {err}", file=sys.stderr)
    return 2 if broken else 0


def _list_metrics(specs) -> None:
    """Each task's metrics (its config of harness's evaluate module) and how to load them, offline."""
    from harness.hf import MODULE

    print(f'evaluate.load("{MODULE}", TASK) or harness.metrics.load(TASK) loads a task\'s official metrics, '
          "offline; a text-to-text view (glue/sst2-n2m) loads the same way")
    _print_table([("TASK", "metrics (0-100)", "main_score: the mean of")] +
                 [(spec.id, ", ".join(spec.metrics), " + ".join(spec.main_score)) for spec in specs])


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _plan(args) -> int:
    """The work units, one a line on stdout (for scripts); on stderr, how long those still to run should take."""
    from harness.config import RunConfig, Selection
    from harness.models import resolve_model
    from harness.progress import Progress, time_planned
    from harness.results import RESULT_FILE

    config, selection = RunConfig.from_values(vars(args)), Selection.from_values(vars(args))
    model = resolve_model(selection.model, selection.revision, selection.trust_remote_code)
    units = _units(selection, config)
    for unit in units:
        finished = (unit.folder(selection.output_dir, model.slug) / RESULT_FILE).is_file()
        print(unit.describe() + ("  [finished]" if finished else ""))
    # the count of units to run (Progress logs it) and their estimate cover the same units
    print(time_planned(Progress(units, selection.output_dir, model, config).estimates(), selection.output_dir),
          file=sys.stderr)
    return 0


def _units(selection, config) -> list:
    """The work units of the eval the options describe, for every seed; with --shard, that share of them. The
    tasks it skips for want of data, and the share, are said on stderr before them."""
    from harness.api import plan_units

    plan = plan_units(selection.tasks, selection.suite, selection.mode, data_dir=selection.data_dir,
                      seeds=selection.seeds or [config.seed], train_sizes=selection.train_sizes, config=config,
                      model=selection.model, shard=selection.shard)
    for task, reason in plan.skipped.items():
        print(f"{task} skipped: {reason}", file=sys.stderr)
    if plan.shard_note:
        print(plan.shard_note, file=sys.stderr)
    return plan.units


def _eval(args) -> int:
    """One call of the API with the options as its keywords; then what it ran, skipped and wrote, one a line."""
    from harness.config import RunConfig, Selection

    config, selection = RunConfig.from_values(vars(args)), Selection.from_values(vars(args))
    from harness.api import evaluate  # after the checks, so a bad option fails before torch loads
    from harness.render import score_text

    evaluation = evaluate(**dataclasses.asdict(selection), config=config, say=print)
    several = len(selection.seeds or []) > 1
    for seed in dict.fromkeys(result.seed for result in evaluation.results):
        if several:
            print(f"seed {seed}")
        for result in (result for result in evaluation.results if result.seed == seed):
            scores = ", ".join(f"{k} {score_text(v)}" for k, v in result.scores.items())
            print(f"{result.task_id:22} {result.mode:8} {result.split_strategy:8} "
                  f"main {score_text(result.main_score):>6}  ({scores})")
    for task, reason in evaluation.skipped.items():
        print(f"{task:22} skipped: {reason}")
    for path in evaluation.written:
        print(f"wrote {path}")
    return 0


def _leaderboard(args) -> int:
    from harness.config import DEFAULT_RESAMPLES, Leaderboards
    from harness.leaderboard import check_leaderboards, write_leaderboards
    from harness.results import writable_folder

    board = Leaderboards.from_values(vars(args))
    writable_folder(board.out, "--out", create=not board.check)  # --check writes nothing
    if board.check:
        stale = check_leaderboards(board.reports, board.out, resamples=board.resamples)
        if stale:
            again = f" --resamples {board.resamples}" if board.resamples != DEFAULT_RESAMPLES else ""
            print(f"harness: leaderboards out of date: {', '.join(map(str, stale))}; regenerate them with "
                  f"`harness leaderboard {board.reports} --out {board.out}{again}` and commit the result",
                  file=sys.stderr)
            return 1
        print(f"leaderboards in {board.out} are current")
        return 0
    for path in write_leaderboards(board.reports, board.out, resamples=board.resamples):
        print(f"wrote {path}")
    return 0


def _report(args) -> int:
    from harness.config import RunReport
    from harness.report import write_report

    report = RunReport.from_values(vars(args))
    for directory in report.run_dirs:
        print(f"wrote {write_report(directory, resamples=report.resamples)}")
    return 0


def _export(args) -> int:
    from harness.config import Export
    from harness.export import export
    from harness.results import atomic_write_text, writable_file

    wanted = Export.from_values(vars(args))
    if wanted.out is not None:
        writable_file(wanted.out, "--out")
    text = export(wanted.reports, wanted.format, wanted.model)
    if wanted.out is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(Path(wanted.out), text)
    print(f"wrote {wanted.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
