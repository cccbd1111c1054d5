"""Task definitions: one YAML file per task under tasks/<suite>/<name>.yaml, read lazily.

Listing names only globs file names; a YAML is parsed the first time its task is asked for.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.errors import TaskError
from harness.shape_registry import DEFAULT_SHAPES, shape_names, shape_of

TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
FORMATS = ("n21", "n2n", "n2m")
# extraction: the answer is a span of the input; state: the answer is a set of domain-slot-value items
KINDS = ("classification", "regression", "extraction", "state")
GENERATION_SUFFIX = "-n2m"  # the text-to-text view of a task is named <task>-n2m
LANGUAGES = {"klue": "ko"}  # the language of a suite's texts, where it is not English


@dataclass(frozen=True)
class FileSplit:
    """Where one split lives in a data dir, and how its columns are read."""

    path: str  # relative to the data dir
    header: bool = True
    fields: dict[str, str | int] | None = None  # overrides TaskSpec.fields for this file
    reader: str | None = None  # a named reader where the suffix is ambiguous (KLUE-NER's TSV is not GLUE's)


@dataclass(frozen=True)
class TaskSpec:
    suite: str
    name: str
    version: int
    formats: tuple[str, ...]
    kind: str
    fields: dict[str, str | int]
    metrics: tuple[str, ...]
    main_score: tuple[str, ...]
    labels: tuple[str, ...] = ()
    description: str = ""
    hub: dict[str, str] = field(default_factory=dict)
    hub_fields: dict[str, str] = field(default_factory=dict)  # column names in the Hub dataset
    hub_splits: dict[str, str] = field(default_factory=dict)  # our split name -> the Hub's
    files: dict[str, FileSplit] = field(default_factory=dict)
    model_from: str | None = None  # evaluated with the model trained for this other task (e.g. AX <- MNLI)
    score_group: str | None = None  # tasks sharing a group are averaged before the suite mean (MNLI m/mm)
    in_suite_score: bool = True
    similarity: bool = False  # a sentence-pair similarity task: also gets a training-free cosine score
    shape: str = ""  # what the model predicts per example: a module of harness/shapes (default: by format)
    label_map: dict[str, str] = field(default_factory=dict)  # raw label -> one of `labels` (AX-b's 3 -> 2 classes)
    score_range: tuple[float, float] | None = None  # a regression's lowest and highest gold score (`range:`)
    split_groups: str | None = None  # an example field whose equal values holdout / k-fold keep on one side
    label_words: tuple[str, ...] = ()  # what a text-to-text model writes for each label (default: the labels)
    view_of: str | None = None  # a text-to-text view: the shape of the task it views (its examples' schema)
    source: str = ""  # the YAML file it came from

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"

    @property
    def label_ids(self) -> dict[str, int]:
        """Each label's index."""
        return {label: i for i, label in enumerate(self.labels)}

    @property
    def num_labels(self) -> int:
        return 1 if self.kind == "regression" else len(self.labels)

    @property
    def language(self) -> str:
        return LANGUAGES.get(self.suite, "en")

    @property
    def schema(self) -> str:
        """The shape whose example schema the task's data is read into (a view reads its task's)."""
        return self.view_of or self.shape


def generation_view(task: TaskSpec) -> TaskSpec:
    """The task as text to text (`--format n2m`); a task that is text to text already is its own view."""
    return task if shape_of(task).generates else shape_of(task).view(task)


_REQUIRED = ("suite", "name", "version", "format", "kind", "fields", "metrics", "main_score")


def parse_task(raw: dict, source: str) -> TaskSpec:
    """Validate one task YAML document; every message names the file and the field."""
    if not isinstance(raw, dict):
        raise TaskError(f"{source}: a task file must hold a mapping of fields")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise TaskError(f"{source}: missing field(s) {', '.join(missing)}")
    formats = tuple(_as_list(raw["format"]))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise TaskError(f"{source}: format {bad[0]!r} is not one of {', '.join(FORMATS)}")
    if raw["kind"] not in KINDS:
        raise TaskError(f"{source}: kind {raw['kind']!r} is not one of {', '.join(KINDS)}")
    if not isinstance(raw["fields"], dict):
        raise TaskError(f"{source}: fields must map each task field to a field of the data")
    if raw["kind"] == "classification" and not raw.get("labels"):
        raise TaskError(f"{source}: a classification task needs a 'labels' list")
    metrics = tuple(_as_list(raw["metrics"]))
    _check_metrics(metrics, source)
    main = tuple(_as_list(raw["main_score"]))
    unknown_main = [m for m in main if m not in metrics]
    if unknown_main:
        raise TaskError(f"{source}: main_score {unknown_main[0]!r} is not among its metrics")
    files = {}
    for split, entry in (raw.get("files") or {}).items():
        entry = {"path": entry} if isinstance(entry, str) else dict(entry)
        if "path" not in entry:
            raise TaskError(f"{source}: files.{split} needs a 'path'")
        files[split] = FileSplit(path=entry["path"], header=entry.get("header", True), fields=entry.get("fields"),
                                 reader=entry.get("reader"))
    labels = [str(label) for label in raw.get("labels") or ()]
    label_words = [str(word) for word in raw.get("label_words") or ()]
    if label_words and len(label_words) != len(labels):
        raise TaskError(f"{source}: label_words has {len(label_words)} entries for {len(labels)} labels; give one per label")
    unmapped = [v for v in (raw.get("label_map") or {}).values() if str(v) not in labels]
    if unmapped:
        raise TaskError(f"{source}: label_map maps to {unmapped[0]!r}, which is not among its labels")
    shape = raw.get("shape", DEFAULT_SHAPES.get(formats[0]))
    if shape not in shape_names():
        raise TaskError(f"{source}: shape {shape!r} is not one of {', '.join(shape_names())}")
    try:
        version = int(raw["version"])
    except (TypeError, ValueError):
        raise TaskError(f"{source}: version {raw['version']!r} must be an integer") from None
    score_range = _score_range(raw, source)
    return TaskSpec(
        suite=raw["suite"],
        name=raw["name"],
        version=version,
        formats=formats,
        kind=raw["kind"],
        fields=dict(raw["fields"]),
        metrics=metrics,
        main_score=main,
        labels=tuple(labels),
        description=raw.get("description", ""),
        hub=dict(raw.get("hub") or {}),
        hub_fields=dict(raw.get("hub_fields") or raw["fields"]),
        hub_splits=dict(raw.get("hub_splits") or {}),
        files=files,
        model_from=raw.get("model_from"),
        score_group=raw.get("score_group"),
        in_suite_score=bool(raw.get("in_suite_score", True)),
        similarity=bool(raw.get("similarity", False)),
        shape=shape,
        split_groups=raw.get("split_groups"),
        label_map={str(k): str(v) for k, v in (raw.get("label_map") or {}).items()},
        label_words=tuple(label_words),
        score_range=score_range,
        source=source,
    )


def _score_range(raw: dict, source: str) -> tuple[float, float] | None:
    """`range: [low, high]`: the scores a regression's gold may take; readers refuse a score outside it."""
    if "range" not in raw:
        return None
    bounds = raw["range"]
    if raw["kind"] != "regression":
        raise TaskError(f"{source}: range applies to regression tasks only (this one is {raw['kind']})")
    if not (isinstance(bounds, list) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
            and bounds[0] < bounds[1]):
        raise TaskError(f"{source}: range {bounds!r} must be [low, high], two finite numbers with low < high")
    return float(bounds[0]), float(bounds[1])


def _check_metrics(metrics: tuple[str, ...], source: str) -> None:
    """Metric names are checked when the task loads, so a misspelt one fails before any training."""
    from harness.metrics import metric_names  # numpy only: listing tasks stays free of torch

    known = metric_names()
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise TaskError(f"{source}: unknown metric(s) {', '.join(map(repr, unknown))}; known metrics: {', '.join(known)}")


def _as_list(value) -> list:
    """YAML fields that take one item or a list of them."""
    return value if isinstance(value, list) else [value]


class TaskRegistry:
    """Finds task files by name without parsing them; parses each once on demand."""

    def __init__(self, root: Path = TASKS_DIR):
        self.root = Path(root)

    @functools.cached_property
    def _paths(self) -> dict[str, Path]:
        return {f"{p.parent.name}/{p.stem}": p for p in sorted(self.root.glob("*/*.yaml"))}

    def names(self, suite: str | None = None) -> list[str]:
        return [n for n in self._paths if suite is None or n.split("/")[0] == suite]

    def suites(self) -> list[str]:
        return sorted({n.split("/")[0] for n in self._paths})

    def resolve(self, name: str) -> str:
        """`glue/sst2` stays as it is; a bare `sst2` is accepted where one suite has it; `sst2-n2m` is its
        text-to-text view."""
        if name.endswith(GENERATION_SUFFIX):
            return self.resolve(name[:-len(GENERATION_SUFFIX)]) + GENERATION_SUFFIX
        if name in self._paths:
            return name
        if "/" not in name:
            matches = [n for n in self._paths if n.split("/", 1)[1] == name]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise TaskError(f"task {name!r} is ambiguous: say one of {', '.join(matches)}")
        raise TaskError(f"unknown task {name!r}; `harness list tasks` shows the known ones")

    def get(self, name: str) -> TaskSpec:
        resolved = self.resolve(name)
        if resolved.endswith(GENERATION_SUFFIX):
            return generation_view(_load(self._paths[resolved[:-len(GENERATION_SUFFIX)]]))
        return _load(self._paths[resolved])

    def select(self, suite: str | None = None, tasks: list[str] | None = None) -> list[TaskSpec]:
        """The tasks a run asks for: a whole suite, or a list of (possibly bare) task names."""
        self._check_suite(suite)
        names = [self.resolve(t) for t in tasks] if tasks else self.names(suite)
        return [self.get(n) for n in dict.fromkeys(names)]

    def load_all(self, suite: str | None = None) -> tuple[list[TaskSpec], list[TaskError]]:
        """Every task (of the suite) that loads, and the error of each file that does not: one broken task
        file must not hide the others from a listing."""
        self._check_suite(suite)
        specs, errors = [], []
        for name in self.names(suite):
            try:
                specs.append(self.get(name))
            except TaskError as err:
                errors.append(err)
        return specs, errors

    def _check_suite(self, suite: str | None) -> None:
        if suite and suite not in self.suites():
            raise TaskError(f"unknown suite {suite!r}; known suites: {', '.join(self.suites())}")


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> TaskSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as err:  # safe_load refuses tags that would build Python objects
        raise TaskError(f"{_position(path, err)}: {_one_line(err.problem)}; a task file holds plain YAML "
                        "(mappings, lists, text, numbers), never !!python or other tags") from err
    except yaml.YAMLError as err:
        raise TaskError(f"{_position(path, err)}: not valid YAML ({_one_line(getattr(err, 'problem', None) or err)})"
                        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise TaskError(f"{path}: cannot read ({err}); a task file is UTF-8 YAML") from err
    return parse_task(raw, str(path))


def _position(path: Path, err: yaml.YAMLError) -> str:
    """path:line:column of a YAML error, where PyYAML knows it."""
    mark = getattr(err, "problem_mark", None)
    return f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)


def _one_line(text) -> str:
    """PyYAML's messages span lines; the CLI prints one."""
    return " ".join(str(text).split())


REGISTRY = TaskRegistry()
