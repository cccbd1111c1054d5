"""Every harness task's official metrics as one `evaluate` metric, the task its config name:

    evaluate.load("<this file>", "klue/ner")    # offline: a local module file needs no Hub
    harness.metrics.load("klue/ner")           # the same

`harness list metrics` prints this file's path and the tasks. The module holds no metric code: it scores
through harness (harness.hf.scoring), so its values are the ones harness reports.
"""
import evaluate

from harness.hf import scoring


class HarnessMetrics(evaluate.Metric):
    """The official metrics of the task named by the config (0-100, harness's definitions) and main_score."""

    def _info(self):
        task = scoring.task_named(self.config_name)
        return evaluate.MetricInfo(
            description=f"{task.id}: {task.description}. Official metrics: {', '.join(task.metrics)}; main score: "
                        f"{' + '.join(task.main_score)}.",
            citation="",
            inputs_description=scoring.describe(task),
            features=scoring.features(task),
        )

    def add_batch(self, **columns):
        """Add a batch of inputs, its class ids checked before `datasets` casts them (0.7 would become 0).\n"""
        scoring.check_batch(scoring.task_named(self.config_name), columns)
        return super(HarnessMetrics, self).add_batch(**columns)

    def add(self, **values):
        """Add one example's inputs, its class ids checked before `datasets` casts them.\n"""
        scoring.check_batch(scoring.task_named(self.config_name), {f"{name}s": [value] for name, value in values.items()})
        return super(HarnessMetrics, self).add(**values)

    def _compute(self, **columns):
        task = scoring.task_named(self.config_name)
        return scoring.score_rows(task, scoring.rows_of(task, columns))
