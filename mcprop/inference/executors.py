"""Where the blocks of a scan run: this process, local worker processes, or a dask cluster.

:func:`make_executor` is the one place that starts and stops processes: it sets up each
local worker (one BLAS thread, Ctrl-C left to the main process, exit when the main process
is gone), and on Ctrl-C or an error stops the workers at once rather than waiting for their
blocks. The scan (:func:`mcprop.inference.scan.run_scan`) only submits blocks to what it
gets.

>>> with make_executor("local", 2) as pool:                          # doctest: +SKIP
...     pool.submit(abs, -3).result()
3
"""

import logging
import numbers
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from mcprop.inference.results import MAX_MASSES

#: Where the grid points are sampled: local processes or a dask.distributed cluster.
EXECUTORS = ("local", "dask")
#: Most parallel workers (blocks in flight): one per mass of the largest grid; any more
#: would idle.
MAX_WORKERS = MAX_MASSES


def check_workers(workers) -> int:
    """``workers`` as an int; ValueError unless an integer (not a bool) from 1 to
    :data:`MAX_WORKERS`."""
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) \
            or not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"must be an integer from 1 to {MAX_WORKERS}, got "
                         f"{str(workers)[:40]}")
    return int(workers)



def _start_worker(parent: int) -> None:
    """In a worker: one BLAS thread (the workers are the parallelism), Ctrl-C ignored (the
    main process handles it), and exit as soon as the main process is gone, whatever killed
    it."""
    threadpool_limits(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@contextmanager
def make_executor(kind: str = "local", workers: int = 2,
                  scheduler: str | None = None) -> Iterator[Executor | None]:
    """None for one local worker (the scan runs in this process), local processes, or a
    dask.distributed cluster (a LocalCluster when no scheduler address is given)."""
    if kind == "local":
        if workers == 1:
            yield None
            return
        # each worker imports ArviZ and the chain files' netCDF writer when it first needs
        # them (about 1 s of CPU, after its first steps), in parallel with the others
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker,
                                   initargs=(os.getpid(),))
        try:
            yield pool
        except BaseException:
            _terminate(pool)
            raise
        pool.shutdown()
        return
    if kind != "dask":
        raise ValueError(f"unknown executor {kind!r}; choose local or dask")
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="10s") as client:
            yield client.get_executor()
        return
    with _ctrl_c_ignored():  # the worker processes inherit it: Ctrl-C is the main process's
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    with cluster, Client(cluster) as client:
        try:
            yield client.get_executor()
        except BaseException:  # Ctrl-C or an error: the cluster's closing errors are noise
            for name in ("distributed", "tornado"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
            _kill_workers(cluster)
            raise


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a local pool's workers at once (Ctrl-C or an error): shutdown() alone would wait
    for the blocks in flight. ``terminate_workers`` exists from Python 3.14; before it, the
    pool's own table of its processes is the only handle on them."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _kill_workers(cluster) -> None:
    """Stop a LocalCluster's worker processes at once (after Ctrl-C): left to the cluster's
    own shutdown they outlive its scheduler and print its closing errors."""
    for nanny in list(cluster.workers.values()):
        pid = getattr(getattr(nanny, "process", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored while processes are started (in the main thread; elsewhere Python
    cannot change signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
