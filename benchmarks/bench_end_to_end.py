"""End to end: the default run config, wall time, overhead factor, where the time goes.

    python benchmarks/bench_end_to_end.py [--repeats 3]

In one process, side by side: the default run (``runs/borexino-phase1.toml``, 50 masses,
every mass to convergence) with 2 workers and with 1 worker (medians of ``--repeats``),
the kernel posterior's cost per sample at a batch of 10,000, and an instrumented 1-worker
run that splits the time into posterior, moves, diagnostics, profile fits and I/O. The
overhead factor is wall x cores / (posterior evaluations x kernel time per sample).
"""

import argparse
import os
import platform
import resource
import time
import warnings
from collections import defaultdict
from contextlib import contextmanager
from datetime import date

import numpy as np
from common import DEFAULT_CONFIG, OUTPUT, median_seconds

import mcprop
from mcprop.inference import moves, sampler, scan
from mcprop.inference.posterior import ScanPosterior
from mcprop.interface import store
from mcprop.interface.config import load_config


@contextmanager
def instrumented():
    """Accumulate the time spent in the parts of a run (this process only)."""
    spent = defaultdict(float)
    patches = []

    def wrap(owner, name, part):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - start

        setattr(owner, name, timed)
        patches.append((owner, name, original))

    wrap(ScanPosterior, "__call__", "posterior")
    wrap(moves.GroupedDEMove, "propose", "moves+posterior")
    wrap(sampler, "autocorrelation_time", "diagnostics")
    wrap(sampler, "diagnose", "diagnostics")
    wrap(scan, "profile_likelihood_limit", "profile fits")
    wrap(store.RunDirectory, "write_point", "I/O")
    wrap(mcprop.ScanResult, "write_limits", "I/O")
    wrap(mcprop.ScanResult, "plot", "I/O")
    try:
        yield spent
    finally:
        for owner, name, original in patches:
            setattr(owner, name, original)


def cpu_seconds() -> tuple[float, float]:
    """CPU time [s] (user + system) of this process and of its ended child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def kernel_ns_per_sample(repeats: int = 21, n: int = 10_000) -> float:
    posterior = load_config(DEFAULT_CONFIG).plan.posterior()
    rng = np.random.default_rng(1)
    draws = posterior.priors.sample(rng, n)
    coords = np.column_stack([rng.uniform(0, 0.05, n)]
                             + [draws[k] for k in posterior.nuisance_names])
    index = rng.integers(0, len(posterior.new_physics.masses_MeV), n)
    seconds, _ = median_seconds(lambda: posterior(coords, index), repeats)
    return seconds / n * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    out = OUTPUT / "end-to-end"

    def run(workers):
        return mcprop.run(DEFAULT_CONFIG, out, workers=workers, force=True)

    load_before = os.getloadavg()[0]
    result = run(2)  # warm-up, and the result whose numbers are reported
    cpu_before = cpu_seconds()
    two, two_all = median_seconds(lambda: run(2), args.repeats)
    cpu_two = [after - before for before, after in zip(cpu_before, cpu_seconds(), strict=True)]
    cpu_before = cpu_seconds()
    one, one_all = median_seconds(lambda: run(1), args.repeats)
    cpu_one = cpu_seconds()[0] - cpu_before[0]
    kernel_ns = kernel_ns_per_sample()
    with instrumented() as spent:
        start = time.perf_counter()
        run(1)
        instrumented_wall = time.perf_counter() - start

    rows = result.limits
    settings = load_config(DEFAULT_CONFIG).plan.sampler
    walkers = settings.n_walkers * settings.n_ensembles
    evaluations = int(((rows.n_steps - 1) * walkers).sum())
    posterior_s = evaluations * kernel_ns * 1e-9
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    ratio = rows.g_upper / rows.g_upper_profile
    print(f"date {date.today()}, {platform.machine()}, Python {platform.python_version()}")
    print(f"default run: {len(rows)} masses x {settings.n_ensembles} ensembles x "
          f"{settings.n_walkers} walkers; {evaluations} posterior evaluations")
    print(f"converged            : {int(rows.converged.sum())}/{len(rows)}; min ESS "
          f"{rows.ess.min():.0f}, max R-hat {rows.rhat.max():.4f}, max MCSE/g_90 "
          f"{(rows.g_upper_mcse / rows.g_upper).max():.2%}")
    print(f"steps per ensemble   : median {rows.n_steps.median():.0f}, tau median "
          f"{rows.tau_steps.median():.1f}, acceptance {rows.acceptance.median():.3f}")
    print(f"Bayes / profile limit: median {ratio.median():.3f}, range {ratio.min():.3f}-"
          f"{ratio.max():.3f}")
    print(f"wall, 2 workers      : {two:7.2f} s (median of {args.repeats}: "
          f"{', '.join(f'{t:.2f}' for t in two_all)})")
    print(f"wall, 1 worker       : {one:7.2f} s (median of {args.repeats}: "
          f"{', '.join(f'{t:.2f}' for t in one_all)})")
    print(f"speed-up 2 vs 1      : {one / two:7.2f}x")
    print(f"CPU per run          : 2 workers {sum(cpu_two) / args.repeats:.2f} s (main "
          f"{cpu_two[0] / args.repeats:.2f} s, workers {cpu_two[1] / args.repeats:.2f} s); "
          f"1 worker {cpu_one / args.repeats:.2f} s")
    print(f"load average         : {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"(other processes on the 2 cores slow the 2-worker runs first)")
    print(f"kernel posterior     : {kernel_ns:7.1f} ns/sample (batch of 10,000, median of 21)")
    print(f"overhead factor      : {two * 2 / posterior_s:7.1f} (2 workers: wall x 2 cores / "
          f"evaluations x kernel time = {two * 2:.1f} / {posterior_s:.2f} s)")
    print(f"                       {one / posterior_s:7.1f} (1 worker)")
    print(f"peak memory (RSS)    : {peak_mb:7.0f} MiB (largest process)")
    print(f"where the time goes (1 worker, instrumented run of {instrumented_wall:.2f} s):")
    moves_only = spent["moves+posterior"] - spent["posterior"]
    parts = {"posterior": spent["posterior"], "moves (emcee + grouped DE)": moves_only,
             "diagnostics (tau, ArviZ)": spent["diagnostics"],
             "profile fits": spent["profile fits"], "I/O (chains, results, limits, plot)":
             spent["I/O"]}
    parts["other (kernels, set-up, imports)"] = instrumented_wall - sum(parts.values())
    for name, seconds in parts.items():
        print(f"  {name:36s} {seconds:6.2f} s  {seconds / instrumented_wall:6.1%}")


if __name__ == "__main__":
    main()
