"""Time from starting ``mcprop run`` to the first sampling step, in a fresh process.

Each repeat starts ``python3 -c`` with a few lines that show the sampler's debug line (the
one logged just before the first step of a block, with its wall-clock time) and then call
the command line as the console script does (``mcprop run CONFIG --quiet --force``). The
time counts from just before the process is started to the first such line of any process
(with 2 workers, a worker's), where the run is stopped. ``--source`` takes further source
trees (for example an older version, from ``git archive``) to time alternately in the same
run.

    python3 benchmarks/bench_startup.py --repeats 5 [--workers 1] [--source OLD_TREE]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_CONFIG, REPO

#: Shows the sampler's debug lines with their time, then runs the command line.
WRAPPER = """
import logging, sys
handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("startup %(created).6f %(message)s"))
log = logging.getLogger("mcprop.inference.sampler")
log.addHandler(handler)
log.setLevel(logging.DEBUG)
log.propagate = False
from mcprop.interface.cli import main
sys.exit(main(sys.argv[1:]))
"""


def time_to_first_step(source: Path, config: Path, workers: int, out: Path) -> float:
    """Seconds from the start of a fresh ``mcprop run`` to its first sampling step; the run
    is stopped there (its workers end with it)."""
    start = time.time()
    process = subprocess.Popen([sys.executable, "-c", WRAPPER, "run", str(config), "--out",
                                str(out), "--workers", str(workers), "--quiet", "--force"],
                               cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(source)})
    lines = []
    for line in process.stderr:
        if line.startswith("startup ") and "first step" in line:
            process.kill()
            process.wait()
            return float(line.split()[1]) - start
        lines.append(line)
    process.wait()
    raise SystemExit(f"mcprop run in {source} ended without a first-step line (a version "
                     f"without it?):\n{''.join(lines)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help="a config of this tree (the same path is used in the others)")
    parser.add_argument("--source", type=Path, action="append", default=[],
                        help="another source tree to time alternately with this one")
    args = parser.parse_args()
    sources = [REPO, *(path.resolve() for path in args.source)]
    times: dict[Path, list[float]] = {source: [] for source in sources}
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for k, source in enumerate(sources):
                config = source / args.config.resolve().relative_to(REPO)
                times[source].append(time_to_first_step(source, config, args.workers,
                                                        Path(tmp) / f"run{repeat}-{k}"))
    print(f"load average after : {os.getloadavg()}")
    print(f"time to the first step, {args.workers} worker(s), median of {args.repeats}:")
    for source, values in times.items():
        runs = ", ".join(f"{t:.2f}" for t in values)
        print(f"  {statistics.median(values):5.2f} s  {source}  ({runs})")


if __name__ == "__main__":
    main()
