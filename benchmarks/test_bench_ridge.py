"""The ridge head's alpha search (EigenRidgeCV) against sklearn's RidgeCV on the same design, interleaved.

The design is shaped like one layer's pair features ([joint, u, v, |u - v|, u * v]) on STS-B's 5,749 training
pairs: 1,920 columns for a 384-wide model (MiniLM, multilingual-e5-small), 3,840 for a 768-wide one (mpnet,
BERT-base; BENCH_RIDGE_WIDTH=3840), where RidgeCV's SVD made mpnet's layer search run over 50 minutes.
Both must choose the same alpha; the ratio of their times is reported.
"""
from __future__ import annotations

import os

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import StandardScaler

from _bench import Stopwatch, bench_rounds, report
from harness.heads.pooled_probes import ALPHAS
from harness.heads.ridge import EigenRidgeCV


def test_ridge_search_vs_ridgecv(benchmark):
    rows, width = int(os.environ.get("BENCH_RIDGE_ROWS", 5749)), int(os.environ.get("BENCH_RIDGE_WIDTH", 1920))
    rng = np.random.default_rng(0)
    x = StandardScaler().fit_transform(rng.normal(size=(rows, width)).astype(np.float32))
    y = x[:, :20].sum(axis=1) + rng.normal(scale=3.0, size=rows)
    reference = Stopwatch(lambda: RidgeCV(alphas=ALPHAS).fit(x, y))
    fast = Stopwatch(lambda: EigenRidgeCV(alphas=ALPHAS).fit(x, y))
    benchmark.pedantic(fast, setup=reference.as_setup(), rounds=bench_rounds(1), iterations=1)
    report(benchmark, f"ridge alpha search on {rows} x {width}", eigen_s=fast.best, ridgecv_s=reference.best,
           speedup=reference.best / fast.best, alpha=fast.result.alpha_)
    assert fast.result.alpha_ == reference.result.alpha_
