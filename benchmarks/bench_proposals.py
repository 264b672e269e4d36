"""Differential evolution against the Student-t proposal, side by side in one run.

For each proposal (``sampler.proposal = "de"`` with ``chunk_steps = 100``, the sampler
before the Student-t proposal, and ``"student-t"``) and each repeat, in alternation:

- the default 50-mass rate curve from a fresh ``mcprop run runs/borexino-phase1.toml``
  (2 workers), wall time;
- the spectral Standard-Model fit, ``mcprop run runs/borexino-phase2-spectral-sm.toml``;
- the 25-mass spectral curve, ``mcprop run runs/borexino-phase2-spectral.toml`` (minutes
  with DE; ``--skip-spectral-curve`` leaves it out);
- effective samples of g per posterior evaluation at 1 and 10 MeV, rate and spectral (one
  mass sampled in this process, every posterior row counted).

``--rate-only`` leaves out everything spectral (a quick check on a loaded machine).

It prints medians, the ratios new / old, the largest difference of the limits between the
two proposals in units of their combined MC error, and the load average before and after.

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
PROPOSALS = ("de", "student-t")


def variant(config: Path, proposal: str) -> Path:
    """A copy of ``config`` beside it (so its relative paths hold) with the proposal set."""
    text = config.read_text()
    if "[sampler]\n" not in text:
        raise SystemExit(f"{config}: no [sampler] section")
    settings = f'proposal = "{proposal}"\n'
    if proposal == "de" and "chunk_steps" not in text:
        settings += "chunk_steps = 100\n"   # the sampler before the Student-t proposal
    path = config.with_name(f".bench-{proposal}-{config.name}")
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


def ess_per_evaluation(config: Path, mass_MeV: float | None) -> tuple[float, int, float]:
    """ESS of g (of the first reported quantity without masses), posterior rows evaluated,
    and their ratio, for the grid mass nearest ``mass_MeV``."""
    plan = load_config(config).plan
    posterior = plan.posterior()
    index = 0 if mass_MeV is None else int(np.argmin(np.abs(np.log(
        np.asarray(plan.masses_MeV) / mass_MeV))))
    rows = [0]
    call = type(posterior).__call__

    class Counting(type(posterior)):
        def __call__(self, coords, point):
            rows[0] += len(np.atleast_2d(coords))
            return call(self, coords, point)

    posterior = Counting(**{f.name: getattr(posterior, f.name) for f in fields(posterior)})
    (sample,) = sample_points(posterior, [index], plan.sampler, plan.seed, plan.credibility)
    ess = next(iter(sample.diagnostics.values())).ess
    return ess, rows[0], ess / rows[0]


def largest_pull(old: list[dict], new: list[dict]) -> float:
    """Largest |g_90 difference| / combined MC error over the masses of two curves."""
    pulls = [abs(a["g_upper"] - b["g_upper"]) / np.hypot(a["g_upper_mcse"], b["g_upper_mcse"])
             for a, b in zip(old, new, strict=True)]
    return max(pulls) if pulls else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-spectral-curve", action="store_true")
    parser.add_argument("--rate-only", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    jobs = {"default rate curve (50 masses)": DEFAULT_CONFIG}
    if not args.rate_only:
        jobs["spectral SM fit"] = SPECTRAL_SM
        if not args.skip_spectral_curve:
            jobs["spectral curve (25 masses)"] = SPECTRAL_CURVE
    per_evaluation = {"rate": DEFAULT_CONFIG} if args.rate_only else {
        "rate": DEFAULT_CONFIG, "spectral": SPECTRAL_CURVE}
    walls = {(job, p): [] for job in jobs for p in PROPOSALS}
    limits = {}
    variants = {(config, p): variant(config, p) for config in {*jobs.values(), SPECTRAL_CURVE}
                for p in PROPOSALS}
    ess = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(args.repeats):
                for job, config in jobs.items():
                    for proposal in PROPOSALS:
                        wall, rows = run_wall(variants[config, proposal],
                                              Path(tmp) / f"{proposal}-{config.stem}")
                        walls[job, proposal].append(wall)
                        limits[job, proposal] = rows
                        print(f"  repeat {repeat + 1}: {job}, {proposal}: {wall:.2f} s",
                              flush=True)
            for label, config in per_evaluation.items():
                for mass in (1.0, 10.0):
                    for proposal in PROPOSALS:
                        ess[label, mass, proposal] = ess_per_evaluation(
                            variants[config, proposal], mass)
    finally:
        for path in variants.values():
            path.unlink(missing_ok=True)
    print(f"\nmedians of {args.repeats} (wall, fresh process):")
    for job in jobs:
        old, new = (statistics.median(walls[job, p]) for p in PROPOSALS)
        pull = largest_pull(limits[job, "de"], limits[job, "student-t"])
        print(f"  {job:32s} de {old:7.2f} s   student-t {new:7.2f} s   {old / new:5.2f}x"
              + (f"   largest limit difference {pull:.1f} MC errors" if pull == pull else ""))
    print("\neffective samples of g per posterior evaluation (one mass, in-process):")
    for (label, mass, proposal), (e, rows, ratio) in ess.items():
        print(f"  {label:8s} {mass:4g} MeV {proposal:9s} ESS {e:7.0f}  evaluations {rows:9d}  "
              f"ESS/eval {ratio:.2e}")
    for label in per_evaluation:
        for mass in (1.0, 10.0):
            gain = ess[label, mass, "student-t"][2] / ess[label, mass, "de"][2]
            print(f"  {label} {mass:g} MeV: student-t / de = {gain:.1f}x")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
