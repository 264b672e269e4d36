"""Scaling: wall time against the number of masses, walkers, and workers (1 vs 2).

    python benchmarks/bench_scaling.py [--repeats 3]

Every measurement is a median over repeats, made in this one run so that the ratios compare
like with like on a shared machine.
"""

import argparse
import sys
import tomllib
import warnings

import tomli_w
from common import DEFAULT_CONFIG, OUTPUT, median_seconds

from mcprop.interface.config import resolve_config
from mcprop.interface.runner import run


def config_with(n_masses: int, walkers: int = 48, fixed_steps: int | None = None):
    """The default config over fewer masses; with ``fixed_steps`` every mass runs exactly
    that many steps (convergence not required), to time the sampler alone."""
    document = tomllib.loads(DEFAULT_CONFIG.read_text())
    document["mass_grid"].update(mass_min_MeV=0.1, mass_max_MeV=100.0, n_masses=n_masses)
    document["sampler"]["n_walkers"] = walkers
    document["limits"]["profile_likelihood"] = fixed_steps is None
    if fixed_steps:
        document["sampler"].update(max_steps=fixed_steps, chunk_steps=fixed_steps,
                                   min_ess=1e12)
    name = f"scaling-{n_masses}-{walkers}-{fixed_steps}"
    document["output"]["directory"] = str(OUTPUT / name)
    path = OUTPUT / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(document))
    return resolve_config(document, DEFAULT_CONFIG)


def timed(config, workers: int, repeats: int) -> float:
    seconds, _ = median_seconds(lambda: run(config, sys.argv, force=True, workers=workers,
                                            quiet=True), repeats)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    print("masses (1 worker, to convergence):")
    base = None
    for n in (4, 8, 16):
        seconds = timed(config_with(n), 1, args.repeats)
        base = base or seconds / 4
        print(f"  {n:3d} masses: {seconds:7.2f} s  = {seconds / n:.2f} s/mass, "
              f"{seconds / n / base:.2f} x the 4-mass rate")
    print("walkers (1 worker, 2 masses, 400 steps per ensemble):")
    base = None
    for walkers in (24, 48, 96):
        seconds = timed(config_with(2, walkers, 400), 1, args.repeats)
        base = base or seconds
        print(f"  {walkers:3d} walkers: {seconds:7.2f} s  ({seconds / base:.2f} x 24 walkers)")
    print("workers (8 masses, to convergence):")
    one = timed(config_with(8), 1, args.repeats)
    two = timed(config_with(8), 2, args.repeats)
    print(f"  1 worker: {one:7.2f} s, 2 workers: {two:7.2f} s, speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
