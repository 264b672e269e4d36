"""What the run path imports, and where.

The main process of a run with local workers does not load the workers' diagnostics and
chain-file stack (ArviZ, xarray, netCDF4, dask, about 1.4 s) before the first step; each
worker imports it when it first needs it. The main process reads its config and builds its
posterior without the sampling stack either: emcee (which imports scipy.stats for its KDE
move) and h5py are imported where blocks are sampled, in the workers.
"""

import subprocess
import sys

#: The workers' stack: ArviZ (diagnostics), the chain files' netCDF writer and its locks.
WORKER_STACK = ("arviz", "xarray", "netCDF4", "dask", "distributed")
#: Loaded only where blocks are sampled.
SAMPLING_STACK = ("emcee", "h5py", "mcprop.inference.sampler")


def imported_after(lines: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``lines``."""
    script = (f"import sys\n{lines}"
              f"print('imported:', *(m for m in {modules!r} if m in sys.modules),\n"
              "      file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stderr.strip().splitlines()[-1].split()[1:]


def test_local_pool_starts_without_the_workers_stack():
    assert imported_after("from mcprop.interface import runner\n"
                          "from mcprop.inference.executors import make_executor\n"
                          "with make_executor('local', 2) as pool:\n"
                          "    assert pool.submit(abs, -3).result() == 3\n",
                          WORKER_STACK) == []


def test_reading_a_config_and_building_its_posterior_leave_out_the_sampler():
    assert imported_after("from mcprop.interface import cli, runner\n"
                          "from mcprop.interface.config import load_config\n"
                          "load_config('borexino-phase1').plan.posterior()\n",
                          SAMPLING_STACK) == []
