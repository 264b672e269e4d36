"""The sampler as it was against the sampler now, side by side in one run.

Each variant is a set of ``[sampler]`` keys written into a copy of the config:
``before`` (the previous round's sampler: the Student-t proposal fitted in the sampled
coordinates, used above an expected acceptance of 0.15), ``now`` (fitted also in
y = x^(1/k) of the coupling's bounded coordinate, used and frozen above the acceptance floor
of NOW_FLOOR) and, with ``--with-de``, ``de`` (differential evolution alone, checks every
100 steps: the sampler before the Student-t proposal). Both start from the priors and check
every 50 steps. For each repeat and variant, in alternation:

- the default 50-mass rate curve from a fresh ``mcprop run runs/borexino-phase1.toml``
  (2 workers), wall time;
- the spectral Standard-Model fit, ``mcprop run runs/borexino-phase2-spectral-sm.toml``;
- the 25-mass spectral curve, ``mcprop run runs/borexino-phase2-spectral.toml`` (2 workers;
  ``--skip-spectral-curve`` leaves it out);
- effective samples of g per posterior evaluation at 1 and 10 MeV, rate and spectral, and of
  the first reported parameter of the SM fit (one point sampled in this process, every
  posterior row counted), with the steps and burn-in.

``--rate-only`` leaves out everything spectral (a quick check on a loaded machine).

It prints medians, the ratios before / now, the largest difference of the limits between
the variants in units of their combined MC error, and the load average before and after.

    python3 benchmarks/bench_proposals.py --repeats 3 [--skip-spectral-curve] [--rate-only]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
from common import DEFAULT_CONFIG, REPO

from mcprop.inference.sampler import sample_points
from mcprop.interface.config import load_config

SPECTRAL_CURVE = REPO / "runs" / "borexino-phase2-spectral.toml"
SPECTRAL_SM = REPO / "runs" / "borexino-phase2-spectral-sm.toml"
#: The variants compared: [sampler] keys of each.
NOW_FLOOR = 0.15
VARIANTS = {
    "de": {"proposal": "de", "start": "prior", "chunk_steps": 100},
    "before": {"proposal_fit": "linear", "proposal_floor": 0.15},
    "now": {"proposal_fit": "bounded", "proposal_floor": NOW_FLOOR},
}


def variant(config: Path, name: str) -> Path:
    """A copy of ``config`` beside it (so its relative paths hold) with the variant's
    sampler keys set (a key the config sets itself is left as it is)."""
    text = config.read_text()
    if "[sampler]\n" not in text:
        raise SystemExit(f"{config}: no [sampler] section")
    section = text.split("[sampler]\n", 1)[1].split("\n[", 1)[0]
    settings = "".join(f"{key} = {json.dumps(value)}\n" for key, value in VARIANTS[name].items()
                       if not any(line.startswith(f"{key} ") or line.startswith(f"{key}=")
                                  for line in section.splitlines()))
    path = config.with_name(f".bench-{name}-{config.name}")
    path.write_text(text.replace("[sampler]\n", f"[sampler]\n{settings}", 1))
    return path


def run_wall(config: Path, out: Path) -> tuple[float, list[dict]]:
    """Wall time [s] of a fresh ``mcprop run CONFIG`` and its limits (or fit rows)."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mcprop", "run", config, "--out", out,
                             "--quiet", "--force"], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"mcprop run {config} failed:\n{result.stderr}")
    limits = json.loads((out / "limits.json").read_text()) if (out / "limits.json").exists() \
        else {}
    return wall, limits.get("limits", [])


def ess_per_evaluation(config: Path, mass_MeV: float | None) -> tuple[float, int, float, str,
                                                                    float, float]:
    """ESS of g (of the first reported quantity without masses), posterior rows evaluated,
    their ratio, the steps (burn-in, tau), and the upper limit with its MC error, for the
    grid mass nearest ``mass_MeV``."""
    plan = load_config(config).plan
    posterior = plan.posterior()
    index = 0 if mass_MeV is None else int(np.argmin(np.abs(np.log(
        np.asarray(plan.masses_MeV) / mass_MeV))))
    rows = [0]
    call = type(posterior).__call__

    profile = type(posterior).profile_objective

    class Counting(type(posterior)):
        def __call__(self, coords, point):
            rows[0] += len(np.atleast_2d(coords))
            return call(self, coords, point)

        def profile_objective(self, point, g, nuisance_rows):  # the start's mode fit
            rows[0] += len(np.atleast_2d(nuisance_rows))
            return profile(self, point, g, nuisance_rows)

    posterior = Counting(**{f.name: getattr(posterior, f.name) for f in fields(posterior)})
    (sample,) = sample_points(posterior, [index], plan.sampler, plan.seed, plan.credibility)
    d = next(iter(sample.diagnostics.values()))
    return (d.ess, rows[0], d.ess / rows[0],
            f"{d.n_steps - 1} steps ({d.burn_in} burn-in, tau {d.tau_steps:.1f})",
            d.upper, d.upper_mcse)


def largest_pull(old: list[dict], new: list[dict]) -> float:
    """Largest |g_90 difference| / combined MC error over the masses of two curves."""
    pulls = [abs(a["g_upper"] - b["g_upper"]) / np.hypot(a["g_upper_mcse"], b["g_upper_mcse"])
             for a, b in zip(old, new, strict=True) if "g_upper" in a]
    return max(pulls) if pulls else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-spectral-curve", action="store_true")
    parser.add_argument("--rate-only", action="store_true")
    parser.add_argument("--with-de", action="store_true")
    args = parser.parse_args()
    names = [*(["de"] if args.with_de else []), "before", "now"]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    jobs = {"default rate curve (50 masses)": DEFAULT_CONFIG}
    if not args.rate_only:
        jobs["spectral SM fit"] = SPECTRAL_SM
        if not args.skip_spectral_curve:
            jobs["spectral curve (25 masses)"] = SPECTRAL_CURVE
    per_evaluation = [("rate", DEFAULT_CONFIG, 1.0), ("rate", DEFAULT_CONFIG, 10.0)]
    if not args.rate_only:
        per_evaluation += [("spectral", SPECTRAL_CURVE, 1.0), ("spectral", SPECTRAL_CURVE, 10.0),
                           ("SM fit", SPECTRAL_SM, None)]
    walls = {(job, name): [] for job in jobs for name in names}
    limits = {}
    variants = {(config, name): variant(config, name)
                for config in {*jobs.values(), *(c for _, c, _ in per_evaluation)}
                for name in names}
    ess = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(args.repeats):
                for job, config in jobs.items():
                    for name in names:
                        wall, rows = run_wall(variants[config, name],
                                              Path(tmp) / f"{name}-{config.stem}")
                        walls[job, name].append(wall)
                        limits[job, name] = rows
                        print(f"  repeat {repeat + 1}: {job}, {name}: {wall:.2f} s "
                              f"(load {os.getloadavg()[0]:.1f})", flush=True)
            for label, config, mass in per_evaluation:
                for name in names:
                    ess[label, mass, name] = ess_per_evaluation(variants[config, name], mass)
                    e, rows, ratio, steps, upper, mcse = ess[label, mass, name]
                    print(f"  {label:8s} {mass or '':>4} {name:6s} ESS {e:7.0f}  evaluations "
                          f"{rows:9d}  ESS/eval {ratio:.2e}  {steps}  upper {upper:.4g} +- "
                          f"{mcse:.2g}", flush=True)
    finally:
        for path in variants.values():
            path.unlink(missing_ok=True)
    print(f"\nmedians of {args.repeats} (wall, fresh process):")
    for job in jobs:
        medians = {name: statistics.median(walls[job, name]) for name in names}
        pull = largest_pull(limits[job, "before"], limits[job, "now"])
        print(f"  {job:32s} " + "   ".join(f"{n} {t:7.2f} s" for n, t in medians.items())
              + f"   before / now {medians['before'] / medians['now']:5.2f}x"
              + (f"   largest limit difference {pull:.1f} MC errors" if pull == pull else ""))
    print("\neffective samples per posterior evaluation, now / before"
          + (" (and now / de)" if args.with_de else "") + ":")
    for label, _, mass in per_evaluation:
        now, before = ess[label, mass, "now"], ess[label, mass, "before"]
        line = f"  {label:8s} {f'{mass:g} MeV' if mass else '':7s} " \
               f"{now[2] / before[2]:5.2f}x   upper limits " \
               f"{abs(now[4] - before[4]) / np.hypot(now[5], before[5]):.1f} MC errors apart"
        if args.with_de:
            line += f"   {ess[label, mass, 'now'][2] / ess[label, mass, 'de'][2]:5.2f}x"
        print(line)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
