"""The floating-point work a run did, counted from the batches it ran, so that runs compare whatever machine ran them.

- Torch modules (the encoder extracting features, a fine-tuned model, a frozen token head's parts): `count_forward`
  hooks the module; the first forward pass of each shape of inputs runs under torch's FlopCounterMode
  (`flop_counter`; the real call, no extra compute), and later passes of that shape count as it did; a module
  with a `forward_flops` method (the BiLSTM token encoder) counts its passes itself. A pass
  run with gradients on counts three times its forward: the backward computes, per matmul, the gradients of its
  input and of its weights, each as large as the forward product. Under a torchrun launch, this process's
  passes alone are counted.
- sklearn heads (the frozen pooled probes and their inner-CV searches): each fit is counted from its dense
  algebra (`linear_fit_flops`, `mlp_fit_flops`; the ridge head counts its own) as it runs, within `counting_fits()`.

FlopCounterMode counts matrix products (linear layers, attention, convolutions): 2 operations per
multiply-add. Element-wise work (softmax, layer norm, activations) is left out, as the usual 2 x parameters x
tokens rule leaves it out; it is a few percent of a transformer's.
"""
from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PHASES = ("extraction", "training", "head", "evaluation")
BACKWARD = 2  # a backward pass costs twice its forward's matmuls (input and weight gradients)
METHOD = ("matmul FLOPs (2 per multiply-add): torch forward passes counted by FlopCounterMode once per input "
          "shape, backward = 2x forward; sklearn heads counted analytically per fit from their iterations")


def zero() -> dict[str, float]:
    return dict.fromkeys(PHASES, 0.0)


def compute_record(by_phase: dict[str, float], note: str = "") -> dict:
    """The result's `compute`: total FLOPs, per phase, and how they were counted (`note`: what else to know)."""
    by_phase = {phase: float(by_phase.get(phase, 0.0)) for phase in PHASES}
    method = METHOD + (f"; {note}" if note else "")
    return {"flops": sum(by_phase.values()), "flops_by_phase": by_phase, "method": method}


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What fixes a forward pass's matmuls: every tensor's shape and every plain argument; a packed sequence's
    `lengths` also by their sum (an LSTM over packed sequences runs over their real tokens alone)."""
    import torch

    def part(value, name=""):
        if isinstance(value, torch.Tensor):
            return ("tensor", tuple(value.shape)) + ((int(value.sum()),) if name == "lengths" else ())
        if isinstance(value, (bool, int, float, str, type(None))):
            return value
        return type(value).__name__

    return tuple(part(a) for a in args) + tuple((k, part(v, k)) for k, v in sorted(kwargs.items()))


def flop_counter():
    """torch's FlopCounterMode, also counting the attention kernel CPUs run (torch registers the GPUs' kernels only,
    so on a CPU a transformer's attention scores would count nothing)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

    def forward(query, key, value, *args, **kwargs):
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, **kwargs):
        return sdpa_backward_flop_count(grad_out, query, key, value)

    aten = torch.ops.aten
    return FlopCounterMode(display=False, custom_mapping={
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
        aten._scaled_dot_product_fused_attention_overrideable: forward,
        aten._scaled_dot_product_fused_attention_overrideable_backward: backward})


def count_forward(module, add: Callable[[float, bool], None]):
    """Hook `module` so that each forward pass calls add(flops of the pass's forward, whether gradients are on);
    returns the hooks' handles. Each new input shape's pass is counted by FlopCounterMode as it runs, unless the
    module counts its own (a `forward_flops` method taking the forward's arguments): under the counter's
    dispatch an LSTM runs step by step, several times slower, and its packed batches rarely repeat a shape."""
    import torch

    known: dict[tuple, int] = {}
    running: list = []  # (signature, counter) of the pass being counted

    def before(_module, args, kwargs):
        if hasattr(module, "forward_flops"):  # counted from its arguments (a packed LSTM: their real tokens)
            add(module.forward_flops(*args, **kwargs), torch.is_grad_enabled())
            return
        signature = _signature(args, kwargs)
        if signature in known:
            add(known[signature], torch.is_grad_enabled())
            return
        counter = flop_counter()
        counter.__enter__()
        running.append((signature, counter))

    def after(_module, args, kwargs, output):
        if not running:
            return
        signature, counter = running.pop()
        counter.__exit__(None, None, None)
        known[signature] = counter.get_total_flops()
        add(known[signature], torch.is_grad_enabled())

    return (module.register_forward_pre_hook(before, with_kwargs=True),
            module.register_forward_hook(after, with_kwargs=True, always_call=True))


class PhaseFlops:
    """FLOPs per phase (PHASES) of one runner or extractor; `phase` (a callable) names the one now running."""

    def __init__(self, phase: Callable[[bool], str]):
        self.by_phase = zero()
        self._phase = phase

    def add(self, flops: float, backward: bool = False, phase: str | None = None) -> None:
        self.by_phase[phase or self._phase(backward)] += flops * (1 + BACKWARD if backward else 1)

    def watch(self, module):
        """Count `module`'s forward passes from now on (count_forward)."""
        return count_forward(module, lambda flops, grad: self.add(flops, grad and _trains(module)))


def _trains(module) -> bool:
    return any(parameter.requires_grad for parameter in module.parameters())


# --- sklearn heads: counted per fit from the dense algebra --------------------------------------------------------

_FITS: contextvars.ContextVar[list | None] = contextvars.ContextVar("harness_fit_flops", default=None)


@contextmanager
def counting_fits() -> Iterator[list[float]]:
    """Within the block, every counted head fit (record_fit) adds its FLOPs to the yielded list."""
    tally: list[float] = []
    token = _FITS.set(tally)
    try:
        yield tally
    finally:
        _FITS.reset(token)


def record_fit(flops: float) -> None:
    tally = _FITS.get()
    if tally is not None:
        tally.append(float(flops))


def linear_fit_flops(rows: int, width: int, outputs: int, iterations: int) -> float:
    """A logistic regression fit by L-BFGS: each iteration evaluates the loss and its gradient, X @ W and X.T @ G
    (2 x rows x width x outputs each), and standardising reads X twice."""
    return 4.0 * rows * width * outputs * (iterations + 1) + 4.0 * rows * width


@functools.cache
def counted_logistic_regression() -> type:
    """sklearn's LogisticRegression recording its fit's FLOPs (record_fit) as it fits, with the iterations it
    actually ran; inner-CV searches fit it once per fold and C, so every fit of a search is counted."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    class CountedLogisticRegression(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            super().fit(X, y, sample_weight)
            outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
            record_fit(linear_fit_flops(X.shape[0], X.shape[1], outputs, int(np.max(self.n_iter_))))
            return self

    return CountedLogisticRegression


def mlp_fit_flops(rows: int, sizes: list[int], epochs: int) -> float:
    """An MLP trained `epochs` passes over `rows` examples: forward and backward (3x forward) per layer."""
    forward = sum(2.0 * rows * a * b for a, b in zip(sizes, sizes[1:]))
    return (1 + BACKWARD) * forward * epochs


def predict_flops(rows: int, sizes: list[int]) -> float:
    """A dense head's forward over `rows` examples through layers of `sizes` (input width first)."""
    return sum(2.0 * rows * a * b for a, b in zip(sizes, sizes[1:]))
