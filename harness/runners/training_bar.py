"""A fine-tune's console: one bar with its steps, its latest training loss and the time left, where transformers
would print a `{'loss': ...}` dictionary every few steps; its predictions get a bar of the same style, as frozen
extraction's "features" bar. Trainer's own printer and bars are off (training_arguments); --quiet shows nothing.
"""
from __future__ import annotations

LOSS_EVERY = 10  # steps between the loss updates Trainer logs (the mean over those steps): the bar shows the last


def training_bar(name: str):
    """A Trainer callback drawing the bars on the main process (the others would draw the same bars again); `name`
    leads the training bar (the learning rate: a search's short runs and the final one tell apart)."""
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class TrainingBar(TrainerCallback):
        def __init__(self):
            self.training = None
            self.predicting = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:  # a resumed run starts at its checkpoint's step
                self.training = tqdm(total=state.max_steps, initial=state.global_step, desc=name,
                                     unit="step", leave=False, dynamic_ncols=True)

        def on_step_end(self, args, state, control, **kwargs):
            if self.training is not None:
                self.training.update(state.global_step - self.training.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.training is not None and "loss" in (logs or {}):
                self.training.set_postfix(loss=f"{logs['loss']:.4g}")

        def on_train_end(self, args, state, control, **kwargs):
            if self.training is not None:
                self.training.close()
                self.training = None

        def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
            if not state.is_world_process_zero:
                return
            if self.predicting is None:
                total = len(eval_dataloader) if hasattr(eval_dataloader, "__len__") else None
                self.predicting = tqdm(total=total, desc="predict", unit="batch", leave=False, dynamic_ncols=True)
            self.predicting.update(1)

        def on_predict(self, args, state, control, **kwargs):
            if self.predicting is not None:
                self.predicting.close()
                self.predicting = None

        on_evaluate = on_predict

    return TrainingBar()
