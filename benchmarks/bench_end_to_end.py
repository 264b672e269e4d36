"""End to end: the default run config, wall time, samples per second, memory, profile.

    python benchmarks/bench_end_to_end.py [--workers 2] [--profile]

Runs ``runs/borexino-phase1.toml`` into benchmarks/output/ (every mass, 4 ensembles), then
reports wall time, posterior evaluations and effective samples per second, the convergence
of every mass, and the peak resident memory of the run (main process and workers). With
--profile it also profiles one mass in-process and prints where the time goes.
"""

import argparse
import cProfile
import io
import json
import platform
import pstats
import resource
import sys
import time
import warnings
from dataclasses import replace
from datetime import date

import numpy as np
from common import DEFAULT_CONFIG, OUTPUT

from mcprop.inference.scan import MassFiles, run_mass
from mcprop.interface.runner import configure, run


def profile_one_mass(config, index: int) -> str:
    """cProfile of one mass, in this process: the top functions by cumulative time."""
    plan = config.plan
    kernels = plan.kernels()
    folder = OUTPUT / "profile"
    folder.mkdir(parents=True, exist_ok=True)
    files = MassFiles(folder / "c.npz", folder / "c.nc", folder / "r.json")
    run_mass(plan.posterior(index, kernels), plan, index, files)  # warm up imports
    profiler = cProfile.Profile()
    profiler.runcall(run_mass, plan.posterior(index, kernels), plan, index, files)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    config = configure(DEFAULT_CONFIG, None, OUTPUT / "end-to-end")
    start = time.perf_counter()
    store = run(config, sys.argv, force=True, workers=args.workers, quiet=True)
    wall = time.perf_counter() - start
    results = [json.loads(p.read_text()) for p in sorted((store.root / "results").glob("*.json"))]
    settings = config.plan.sampler
    evaluations = sum(r["n_steps"] for r in results) * settings.n_walkers * settings.n_ensembles
    ess = sum(r["ess"] for r in results)
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    converged = sum(r["converged"] for r in results)
    mcse = max(r["g_upper_mcse"] / r["g_upper"] for r in results)
    ratio = np.array([r["g_upper"] / r["g_upper_profile"] for r in results])
    print(f"date {date.today()}, {platform.machine()}, Python {platform.python_version()}, "
          f"{args.workers} workers")
    print(f"default run: {len(results)} masses x {settings.n_ensembles} ensembles x "
          f"{settings.n_walkers} walkers")
    print(f"wall time            : {wall:8.1f} s")
    print(f"posterior samples/s  : {evaluations / wall:8.0f}  ({evaluations} in all)")
    print(f"effective samples/s  : {ess / wall:8.0f}  (ESS of g summed over masses: {ess:.0f})")
    print(f"converged            : {converged}/{len(results)}; min ESS "
          f"{min(r['ess'] for r in results):.0f}, max R-hat "
          f"{max(r['rhat'] for r in results):.4f}, max MCSE/g_90 {mcse:.2%}")
    print(f"steps per ensemble   : median {np.median([r['n_steps'] for r in results]):.0f}, "
          f"tau median {np.median([r['tau_steps'] for r in results]):.1f}")
    print(f"Bayes / profile limit: median {np.median(ratio):.3f}, range "
          f"{ratio.min():.3f}-{ratio.max():.3f}")
    print(f"peak memory (RSS)    : {peak_mb:8.0f} MiB (largest process)")
    if args.profile:
        print(profile_one_mass(replace(config), len(results) // 2))


if __name__ == "__main__":
    main()
