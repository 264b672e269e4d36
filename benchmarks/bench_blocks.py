"""Critical path of the default run dealt into 1 or 2 blocks, from CPU times in one process.

    python benchmarks/bench_blocks.py [--repeats 3]

Runs the default config with one worker but its masses dealt into ``n`` blocks (one after
another in this process) and measures the CPU time [s] of each block and of everything
else (set-up, results, limits, plot). With one block per worker on otherwise idle cores,
the wall time of a run is about (outside blocks) + (largest block): this estimate does not
depend on what else runs on the machine, unlike the wall times of ``bench_end_to_end.py``.
Pool start and the transfer of results between processes are not counted.
"""

import argparse
import statistics
import time
import warnings

from common import DEFAULT_CONFIG, OUTPUT

import mcprop
from mcprop.inference import scan


def critical_path(n_blocks: int, repeats: int) -> tuple[float, float, float]:
    """Medians of (total CPU, CPU outside the blocks, CPU of the largest block) [s]."""
    deal, run_block = scan.blocks, scan.run_block
    block_seconds: list[float] = []

    def timed_block(task):
        start = time.process_time()
        try:
            return run_block(task)
        finally:
            block_seconds.append(time.process_time() - start)

    scan.blocks = lambda indices, n: deal(indices, n_blocks)
    scan.run_block = timed_block
    try:
        mcprop.run(DEFAULT_CONFIG, OUTPUT / "blocks", workers=1, force=True)  # warm-up
        rows = []
        for _ in range(repeats):
            block_seconds.clear()
            start = time.process_time()
            mcprop.run(DEFAULT_CONFIG, OUTPUT / "blocks", workers=1, force=True)
            total = time.process_time() - start
            rows.append((total, total - sum(block_seconds), max(block_seconds)))
    finally:
        scan.blocks, scan.run_block = deal, run_block
    return tuple(statistics.median(column) for column in zip(*rows, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    paths = {}
    for n_blocks in (1, 2):
        total, outside, largest = critical_path(n_blocks, args.repeats)
        paths[n_blocks] = outside + largest
        print(f"{n_blocks} block(s): CPU {total:6.2f} s, outside the blocks {outside:5.2f} s, "
              f"largest block {largest:5.2f} s -> critical path {paths[n_blocks]:5.2f} s "
              f"(medians of {args.repeats})")
    print(f"speed-up of 2 workers on idle cores (estimate): {paths[1] / paths[2]:.2f}x")


if __name__ == "__main__":
    main()
