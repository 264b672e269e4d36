"""Scaling: wall time and memory against the number of masses, and workers 1 vs 2.

    python benchmarks/bench_scaling.py [--repeats 3] [--masses 50,500]

Every measurement is a median over repeats, made in this one run so that the ratios compare
like with like on a shared machine. Each size runs in a fresh process so that its peak
resident memory is its own.
"""

import argparse
import json
import subprocess
import sys
import tomllib

import tomli_w
from common import DEFAULT_CONFIG, OUTPUT, REPO

_CHILD = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import mcprop
start = time.perf_counter()
r = mcprop.run(sys.argv[1], workers=int(sys.argv[2]))
wall = time.perf_counter() - start
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
print(json.dumps({"wall": wall, "peak_MiB": peak, "converged": int(r.limits.converged.sum())}))
"""


def config_with(n_masses: int) -> str:
    """The default config over ``n_masses`` masses (same range), written for a child."""
    document = tomllib.loads(DEFAULT_CONFIG.read_text())
    document["mass_grid"]["n_masses"] = n_masses
    document["priors"]["files"] = [str((DEFAULT_CONFIG.parent / f).resolve())
                                   for f in document["priors"]["files"]]
    path = OUTPUT / f"scaling-{n_masses}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(document))
    return str(path)


def measure(n_masses: int, workers: int, repeats: int) -> dict:
    runs = [json.loads(subprocess.run([sys.executable, "-c", _CHILD, config_with(n_masses),
                                       str(workers)], cwd=REPO, capture_output=True,
                                      text=True, check=True).stdout.splitlines()[-1])
            for _ in range(repeats)]
    runs.sort(key=lambda r: r["wall"])
    return runs[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--masses", default="50,500")
    args = parser.parse_args()
    sizes = [int(n) for n in args.masses.split(",")]
    base = None
    for n in sizes:
        for workers in (1, 2):
            r = measure(n, workers, args.repeats)
            base = base or r["wall"] / n
            print(f"{n:4d} masses, {workers} worker(s): {r['wall']:7.2f} s = "
                  f"{r['wall'] / n * 1e3:6.1f} ms/mass ({r['wall'] / n / base:.2f} x the "
                  f"first rate), peak {r['peak_MiB']:6.0f} MiB, {r['converged']}/{n} "
                  f"converged")


if __name__ == "__main__":
    main()
