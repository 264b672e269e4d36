"""The files of the sampler: checkpoints (npz, in chunks) and chains (ArviZ InferenceData,
netCDF), and the one conversion of draws to InferenceData.

Like every file mcprop writes (:mod:`mcprop.files`), each is written to a temporary name in
its folder and renamed into place, so an interrupted run never leaves a half-written file
under the final name.
"""

import errno
import io
import os
import stat
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mcprop.files import FILE_MODE, atomic_write_bytes


def atomic_write_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue(), sync=False)


def chunk_file(path: Path, k: int) -> Path:
    """The file of the k-th chunk of steps of the checkpoint ``path`` (mNNN.npz ->
    mNNN.KKKK.npz)."""
    return path.with_name(f"{path.stem}.{k:04d}{path.suffix}")


def remove_checkpoint(path: Path) -> None:
    """Remove the checkpoint ``path``: its state first (what makes it a checkpoint), then
    its chunks."""
    path.unlink(missing_ok=True)
    for chunk in path.parent.glob(f"{path.stem}.[0-9][0-9][0-9][0-9]{path.suffix}"):
        chunk.unlink(missing_ok=True)


def inference_data(samples: Mapping[str, np.ndarray], attrs: Mapping[str, object]):
    """ArviZ InferenceData of samples {name: (chain, draw)}; ``attrs`` go to the posterior
    group. The one conversion of the project's draws to ArviZ.

    The draws are kept in single precision, the precision the sampler stores its chains in
    (a quantity computed from them, such as g, gains no information in double).
    """
    import arviz as az

    with warnings.catch_warnings():  # thinned chains may hold fewer draws than walkers
        warnings.filterwarnings("ignore", message="More chains")
        idata = az.from_dict(posterior={name: np.asarray(x, dtype=np.float32)
                                         for name, x in samples.items()})
    idata.posterior.attrs.update(attrs)
    return idata


def write_inference_data(path: Path, samples: Mapping[str, np.ndarray],
                         attrs: Mapping[str, object]) -> None:
    """Save samples {name: (chain, draw)} as ArviZ InferenceData netCDF, atomically;
    uncompressed (on the default run's chains zlib took 10.6 instead of 6.3 ms per file
    to make it 193 instead of 246 KiB)."""
    idata = inference_data(samples, attrs)
    fd, tmp = tempfile.mkstemp(prefix=f".{Path(path).name}.", suffix=".tmp",
                               dir=Path(path).parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        idata.to_netcdf(tmp, engine="netcdf4", compress=False)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if not isinstance(exc, Exception):  # Ctrl-C
            raise
        # netCDF reports a full disk as "NetCDF: HDF error" (a RuntimeError): an OSError
        # naming the file, whatever the writer raised
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines()
                                                    or [type(exc).__name__])[0]
        raise OSError(getattr(exc, "errno", None) or errno.EIO,
                      f"cannot write the chain file ({reason[:200]})", str(path)) from None


def read_inference_data(path: Path):
    """Load an InferenceData netCDF file written by :func:`write_inference_data`; OSError
    for anything but a regular file (netCDF would wait forever on a FIFO)."""
    import arviz as az

    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError("not a regular file (a folder, device, FIFO or socket)")
    return az.from_netcdf(path)
