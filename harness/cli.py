"""The `harness` command: argument parsing and printing only; every command calls the Python API."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from harness import preemption
from harness.errors import HarnessError


def build_parser() -> argparse.ArgumentParser:
    from harness.config import EVAL_SETTINGS

    parser = argparse.ArgumentParser(prog="harness", description="Evaluate language models on GLUE, frozen and fine-tuned.")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list tasks, model aliases, or the tasks' metrics as evaluate modules")
    listing.add_argument("what", choices=["tasks", "models", "metrics"])
    listing.add_argument("--suite", help="only this suite's tasks")

    ev = commands.add_parser("eval", help="evaluate a model on tasks, frozen and/or fine-tuned")
    _add_options(ev, EVAL_SETTINGS)

    planning = commands.add_parser("plan", help="list the work units `harness eval` with the same options runs, one a "
                                   "line, in the order it runs them (with --shard I/N: that share's)")
    _add_options(planning, EVAL_SETTINGS)

    board = commands.add_parser("leaderboard", help="write markdown leaderboards from a reports folder")
    board.add_argument("reports", nargs="?", default="reports")
    board.add_argument("--out", default="leaderboards")
    board.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 naming the files in --out that differ from what the reports produce")
    board.add_argument("--resamples", type=_positive_int, help="bootstrap resamples per interval (default 1,000)")

    report = commands.add_parser("report", help="write RUN_DIR/report.md: one run's scores, errors and provenance")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="a run folder, e.g. runs/minilm/glue/sst2/frozen-seed42")
    report.add_argument("--resamples", type=_positive_int, help="bootstrap resamples per interval (default 1,000)")

    export = commands.add_parser("export", help="results as Hub model-card metadata (model-index YAML), a model "
                                 "card with intervals and provenance, or a flat CSV")
    export.add_argument("reports", nargs="?", default="reports")
    export.add_argument("--format", required=True, choices=["model-index", "card", "csv"])
    export.add_argument("--model", help="only this model's results (required for model-index and card when there "
                        "are several)")
    export.add_argument("--out", help="write to this file instead of standard output")
    return parser


def _add_options(parser: argparse.ArgumentParser, settings: tuple[type, ...]) -> None:
    """One option per declared field (harness.config), so flags, help and defaults are written once.

    A generator of our own rather than transformers' HfArgumentParser: importing transformers would
    make `harness list tasks` take seconds, and the declarations need only a few argparse calls.
    """
    from harness.config import EXCLUSIVE_GROUPS, options_of

    groups = {name: parser.add_mutually_exclusive_group(required=required)
              for name, required in EXCLUSIVE_GROUPS.items()}
    for declared in (declared for kind in settings for declared in options_of(kind)):
        target = groups[declared.group] if declared.group else parser
        target.add_argument(declared.flag, **_argparse_keywords(declared))


def _argparse_keywords(declared) -> dict:
    """A switch for a bool field; otherwise a value converted, defaulted and limited as declared."""
    described = declared.help.replace("%", "%%")  # argparse formats help with %
    if declared.kind is bool:
        return {"action": "store_true", "help": described}
    shown = declared.default_text()
    return {"type": declared.parse or declared.kind, "default": declared.default, "choices": declared.choices,
            "help": f"{described} (default: {shown})" if shown else described}


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


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
    if args.what == "models":
        from harness.models import ALIASES, MAJORITY, RANDOM_PREFIX

        for alias, hub_id in sorted(ALIASES.items()):
            print(f"{alias:24} {hub_id}")
        print(f"{MAJORITY:24} baseline: no model, the training split's most frequent label (mean score, tag, head "
              "rule; first candidate, empty answer)")
        print(f"{RANDOM_PREFIX + '<model>':24} control: that model's architecture and tokenizer, weights initialised "
              "from --seed")
        return 0
    from harness.tasks import REGISTRY

    specs, broken = REGISTRY.load_all(args.suite)
    if args.what == "metrics":
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
    slug = resolve_model(selection.model, selection.revision, selection.trust_remote_code).slug
    units = _units(selection, config)
    for unit in units:
        finished = (unit.folder(selection.output_dir, slug) / RESULT_FILE).is_file()
        print(unit.describe() + ("  [finished]" if finished else ""))
    # the count of units to run (Progress logs it) and their estimate cover the same units
    print(time_planned(Progress(units, selection.output_dir, slug, config).estimates(), selection.output_dir),
          file=sys.stderr)
    return 0


def _units(selection, config) -> list:
    """The work units of the eval the options describe, for every seed; with --shard, that share of them. The
    tasks it skips for want of data are listed on stderr, with the reason, before them."""
    from harness.api import plan_units
    from harness.work_units import share

    plan = plan_units(selection.tasks, selection.suite, selection.mode, data_dir=selection.data_dir,
                      seeds=selection.seeds or [config.seed], train_sizes=selection.train_sizes, config=config,
                      model=selection.model)
    for task, reason in plan.skipped.items():
        print(f"{task} skipped: {reason}", file=sys.stderr)
    if selection.shard is None:
        return plan.units
    mine = share(plan.units, *selection.shard)
    index, count = selection.shard
    print(f"shard {index}/{count}: {len(mine)} of the plan's {len(plan.units)} work units", file=sys.stderr)
    return mine


def _eval(args) -> int:
    from harness.config import RunConfig, Selection
    from harness.render import score_text
    from harness.results import writable_folder
    from harness.runners import is_main_process

    config, selection = RunConfig.from_values(vars(args)), Selection.from_values(vars(args))
    if selection.leaderboard_dir:  # under a launch, rank 0 alone writes
        writable_folder(selection.leaderboard_dir, "--leaderboard-dir", create=is_main_process())
    from harness.api import evaluate  # after the checks, so a bad option fails before torch loads
    from harness.models import resolve_model
    from harness.progress import Progress

    seeds = selection.seeds or [config.seed]
    units = _units(selection, config)
    if not units:
        return 0
    slug = resolve_model(selection.model, selection.revision, selection.trust_remote_code).slug
    progress = Progress(units, selection.output_dir, slug, config)
    if selection.train_sizes:
        _announce_curve(selection, seeds, progress)
    for seed in seeds:  # results are one folder per seed, so each seed is a whole evaluation of its own
        if not any(unit.seed == seed for unit in units):  # another share's
            continue
        if len(seeds) > 1:
            print(f"seed {seed}")
        evaluation = evaluate(
            selection.model, tasks=selection.tasks, suite=selection.suite, mode=selection.mode,
            data_dir=selection.data_dir, output_dir=selection.output_dir, config=config.replace(seed=seed),
            revision=selection.revision, trust_remote_code=selection.trust_remote_code,
            train_sizes=selection.train_sizes, units=units, progress=progress,
        )
        for result in evaluation.results:
            scores = ", ".join(f"{k} {score_text(v)}" for k, v in result.scores.items())
            print(f"{result.task_id:22} {result.mode:8} {result.split_strategy:8} "
                  f"main {score_text(result.main_score):>6}  ({scores})")
        for task, reason in evaluation.skipped.items():
            print(f"{task:22} skipped: {reason}")
    if selection.train_sizes and is_main_process():
        from harness.curves import write_task_curves

        for path in write_task_curves(selection.output_dir):
            print(f"wrote {path}")
    if selection.leaderboard_dir and is_main_process():
        from harness.leaderboard import write_leaderboards

        for path in write_leaderboards(selection.output_dir, selection.leaderboard_dir):
            print(f"wrote {path}")
    return 0


def _announce_curve(selection, seeds: list[int], progress) -> None:
    """Print what a learning curve will run and how long it should take (harness.progress scales earlier runs
    in --output-dir)."""
    from harness.api import run_modes
    from harness.curves import plan_text
    from harness.progress import time_planned
    from harness.tasks import REGISTRY

    task_ids = [spec.id for spec in REGISTRY.select(selection.suite, selection.tasks)]
    modes = run_modes(selection.mode, selection.model)
    sizes = sorted(set(selection.train_sizes), key=lambda size: (size is None, size or 0))
    print(plan_text(task_ids, sizes, modes, seeds))
    print("  " + time_planned(progress.estimates(), selection.output_dir))


def _leaderboard(args) -> int:
    from harness.leaderboard import check_leaderboards, write_leaderboards
    from harness.results import writable_folder
    from harness.uncertainty import DEFAULT_RESAMPLES

    resamples = args.resamples or DEFAULT_RESAMPLES
    writable_folder(args.out, "--out", create=not args.check)  # --check writes nothing
    if args.check:
        stale = check_leaderboards(args.reports, args.out, resamples=resamples)
        if stale:
            again = f" --resamples {args.resamples}" if args.resamples else ""
            print(f"harness: leaderboards out of date: {', '.join(map(str, stale))}; regenerate them with "
                  f"`harness leaderboard {args.reports} --out {args.out}{again}` and commit the result", file=sys.stderr)
            return 1
        print(f"leaderboards in {args.out} are current")
        return 0
    for path in write_leaderboards(args.reports, args.out, resamples=resamples):
        print(f"wrote {path}")
    return 0


def _report(args) -> int:
    from harness.report import write_report
    from harness.uncertainty import DEFAULT_RESAMPLES

    for directory in args.run_dirs:
        print(f"wrote {write_report(directory, resamples=args.resamples or DEFAULT_RESAMPLES)}")
    return 0


def _export(args) -> int:
    from harness.export import export
    from harness.results import atomic_write_text, writable_file

    if args.out is not None:
        writable_file(args.out, "--out")
    text = export(args.reports, args.format, args.model)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(Path(args.out), text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
