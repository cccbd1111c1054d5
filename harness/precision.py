"""--precision: the number format models run in, and what `auto` picks on this device.

fp32 is every number in float32. bf16 and fp16 run forward passes under torch.autocast (matrix
products in the half format, reductions and the numbers harness keeps in float32) and train with
Trainer's mixed precision (float32 master weights). `auto` picks what runs fastest without hurting
scores:

- a CUDA GPU: bf16 where it has it (Ampere and later), else fp32; fp16 only when asked for, since its
  narrow range overflows in some models (T5);
- a CPU: fp32 for runs that train through a model (fine-tuning, the decoder of frozen text to text):
  on this project's CPU with AMX, bf16 fine-tuned SST-2 only 1.2-1.5x faster than fp32, under the 1.5x
  that would pay for the drift it risks (benchmarks/test_bench_precision.py); for runs that only run
  the encoder forward (frozen features), bf16 where a quick probe shows it clearly faster (there:
  extraction 2.2-3.4x faster, vectors within 1e-4 cosine, the same SST-2 accuracy), else fp32. fp16 is
  refused on CPU: without fp16 hardware torch's fp16 is no faster than fp32 (0.9-1.2x measured there).

Recorded in each result's hyperparameters as resolved (never `auto`), and part of the feature cache key.
"""
from __future__ import annotations

import functools
import logging
import time
from contextlib import nullcontext

from harness.errors import ConfigError

log = logging.getLogger("harness")

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}  # torch's names of the half formats
RECORDED_BEFORE = "fp32"  # what results written before --precision existed ran in
# Probe speed-up (bf16 / fp32) from which `auto` runs a CPU's forward passes in bf16. On this project's AMX CPU
# the probe has measured 2.1x (under heavy load from other processes) to 4.1x, where all-MiniLM-L6-v2's
# extraction gained 2.5-3.4x; CPUs without bf16 hardware emulate it and measure below 1x.
PROBE_BAR = 1.5


def resolve_precision(requested: str, device: str, *, training: bool) -> str:
    """fp32, bf16 or fp16: what `requested` (--precision) runs as on `device` ("cpu", "cuda", or --device's "auto"),
    for a run that trains through the model (`training`) or only runs it forward. Refuses what the device cannot
    run. fp32 needs to know nothing of the device: a run whose features are cached never imports torch."""
    check_precision(requested, device)
    if requested != "auto":
        return requested
    if _on_gpu(device):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if training:
        return "fp32"
    return "bf16" if cpu_bf16_speedup() >= PROBE_BAR else "fp32"


def check_precision(requested: str, device: str) -> None:
    """ConfigError where the device ("cpu", "cuda", or "auto") cannot run the precision asked for (before anything
    loads)."""
    if requested == "fp16" and not _on_gpu(device):
        raise ConfigError("--precision fp16 needs a CUDA GPU (torch's fp16 on a CPU is no faster than fp32); "
                          "use --precision bf16 or auto on CPU")
    if requested == "bf16" and _on_gpu(device):
        import torch

        if not torch.cuda.is_bf16_supported():
            raise ConfigError(f"--precision bf16: this GPU ({torch.cuda.get_device_name()}) has no bf16; use "
                              "--precision fp16 or auto")


def _on_gpu(device: str) -> bool:
    """Whether `device` is a CUDA GPU; for --device auto, whether torch sees one (imported to answer)."""
    if device == "auto":
        import torch

        return torch.cuda.is_available()
    return device.startswith("cuda")


@functools.cache
def cpu_bf16_speedup() -> float:
    """How many times faster one BERT-sized transformer block (384 wide, 16 x 64 tokens) runs forward under
    bf16 autocast than in fp32 on this CPU, with torch's current threads: each side's best of five rounds,
    interleaved after a warm-up, so a burst of other load slows rounds of both. Measured once per process
    (about half a second) and logged."""
    import torch

    generator = torch.Generator().manual_seed(0)
    width = 384
    weights = {name: torch.randn(rows, cols, generator=generator) / rows ** 0.5
               for name, rows, cols in (("qkv", width, 3 * width), ("out", width, width),
                                        ("up", width, 4 * width), ("down", 4 * width, width))}
    tokens = torch.randn(16, 64, width, generator=generator)
    seconds = {"fp32": [], "bf16": []}
    with torch.inference_mode():
        for round_ in range(6):
            for precision, times in seconds.items():
                with autocast(precision, "cpu"):
                    start = time.perf_counter()
                    _block(tokens, weights)
                    if round_:  # the first round warms up
                        times.append(time.perf_counter() - start)
    speedup = min(seconds["fp32"]) / min(seconds["bf16"])
    log.info("--precision auto: a transformer block ran %.1fx faster in bf16 than in fp32 on this CPU, so frozen "
             "features run in %s (bf16 from %gx)", speedup, "bf16" if speedup >= PROBE_BAR else "fp32", PROBE_BAR)
    return speedup


def _block(x, weights, heads: int = 12):
    """A post-norm transformer encoder block: attention, then a GELU feed-forward, each with a residual."""
    import torch.nn.functional as F

    q, k, v = (x @ weights["qkv"]).view(*x.shape[:2], 3, heads, -1).permute(2, 0, 3, 1, 4)
    attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(x.shape)
    x = F.layer_norm(x + attended @ weights["out"], x.shape[-1:])
    return F.layer_norm(x + F.gelu(x @ weights["up"]) @ weights["down"], x.shape[-1:])


def autocast(precision: str, device: str):
    """The context forward passes run in: torch.autocast to bf16 or fp16 on the device's type, or nothing."""
    if precision == "fp32":
        return nullcontext()
    import torch

    return torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=getattr(torch, _DTYPES[precision]))


def trainer_flags(precision: str) -> dict[str, bool]:
    """transformers.TrainingArguments' mixed-precision switches for a resolved precision."""
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def recorded_precision(hyperparameters: dict) -> str:
    """The precision a result ran in (fp32 for results written before it was recorded)."""
    return hyperparameters.get("precision", RECORDED_BEFORE)

