"""What the run path imports, and where: the main process of a run with local workers does
not load the workers' diagnostics and chain-file stack (ArviZ, xarray, netCDF4, dask, about
1.4 s) before the first step; each worker imports it when it first needs it."""

import subprocess
import sys

#: The workers' stack: ArviZ (diagnostics), the chain files' netCDF writer and its locks.
WORKER_STACK = ("arviz", "xarray", "netCDF4", "dask", "distributed")


def test_local_pool_starts_without_the_workers_stack():
    script = ("import sys\n"
              "from mcprop.interface import runner\n"
              "from mcprop.inference.executors import make_executor\n"
              "with make_executor('local', 2) as pool:\n"
              "    assert pool.submit(abs, -3).result() == 3\n"
              f"print('imported:', *(m for m in {WORKER_STACK!r} if m in sys.modules),\n"
              "      file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "imported:"
