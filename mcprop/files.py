"""Reading and writing files: the bounded, safe readers of the input files a user points
mcprop at, and the atomic writers of every file mcprop makes (one place for each format:
text, JSON, TOML; the sampler's npz and netCDF files are in :mod:`mcprop.inference.storage`).

Run configs, prior files, solar profiles, overlays and the JSON and TOML files of a run
directory are small text files. Every one of them is
read here, through :func:`read_bytes`: the path must name a regular file (not a folder,
device, FIFO or socket, so ``/dev/zero`` or a pipe cannot stall a run) of at most
:data:`MAX_INPUT_BYTES`, and paths with control characters (a NUL byte, a newline) or
symlink loops are refused. Every problem is an :class:`InputFileError` whose message is
one line, ``path: reason``.

Every file is written to a temporary name in its folder and renamed into place
(:func:`atomic_write_bytes`), so an interrupted run never leaves a half-written file under
the final name.

This module sits at the top of the package, below the physics, inference and interface
layers, so that all of them can use it; only :mod:`mcprop.errors` is below it.
"""

import json
import os
import reprlib
import stat
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from mcprop.errors import McpropError

#: Largest input file read [bytes]: 1 MiB, a hundred times the largest shipped input.
MAX_INPUT_BYTES = 1 << 20


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped, safe for a one-line message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother, _BRIEF.maxlong = 2, 60, 60, 40


def brief_repr(value: Any) -> str:
    """A short, one-line repr of a value read from an input: long strings and numbers and
    deep or long tables and lists are cut."""
    try:
        return _BRIEF.repr(value)
    except ValueError:  # an integer beyond Python's limit for conversion to text
        return f"<{type(value).__name__} too large to print>"


class InputFileError(McpropError, ValueError):
    """An input file that cannot be used; the message is one line, ``path: reason``.

    ``path`` (the file, as given) and ``reason`` are kept as attributes. A path is printed as
    it is, in the API too (it names no option).
    """

    def __init__(self, path: Path | str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{printable(str(path))}: {reason}")

    def __str__(self) -> str:
        return self.cli_message


def checked_path(path: Path | str) -> Path:
    """``path`` as a Path; InputFileError if it holds a NUL byte or a control character."""
    text = os.fspath(path)
    if not text or not text.isprintable():
        raise InputFileError(path, "not a usable path (empty, or holds a NUL byte or a "
                                   "control character)")
    return Path(text)


def resolve_path(path: Path | str, base_dir: Path | str | None = None) -> Path:
    """The absolute path of ``path`` (relative to ``base_dir`` if given), symlinks resolved.

    Raises InputFileError for a path with control characters or a symlink loop.
    """
    path = checked_path(path)
    full = path if base_dir is None else Path(base_dir) / path
    try:
        return full.resolve()
    except RuntimeError:  # pathlib's report of a symlink loop
        raise InputFileError(path, "symlink loop") from None
    except OSError as exc:
        raise InputFileError(path, _reason(exc)) from None


def output_folder(path: Path | str, base_dir: Path | str | None = None) -> Path:
    """The absolute path of the folder ``path`` that mcprop is to write, with the folders
    above it resolved but not its own name: a symlink there stays a symlink, so that the
    writer can see it and refuse it rather than write where it points.

    >>> str(output_folder("out/run", "/tmp")).endswith("/run")
    True
    """
    path = checked_path(path)
    if path.name in ("", ".", ".."):
        return resolve_path(path, base_dir)
    return resolve_path(path.parent, base_dir) / path.name


def _reason(exc: OSError) -> str:
    message = exc.strerror or str(exc)
    return f"cannot read: {message[:1].lower()}{message[1:]}"


def _too_large(path: Path, max_bytes: int) -> InputFileError:
    return InputFileError(path, f"larger than the {max_bytes}-byte limit for input files")


def read_bytes(path: Path | str, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The content of the regular file ``path``, at most ``max_bytes`` long.

    Raises InputFileError for a missing or unreadable file, a symlink loop, anything but a
    regular file, or a file over the size limit.
    """
    path = checked_path(path)
    try:
        # O_NONBLOCK: opening a FIFO without a writer returns at once (and is then refused).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputFileError(path, _reason(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(path, "not a regular file (a folder, device, FIFO or socket)")
        if info.st_size > max_bytes:
            raise _too_large(path, max_bytes)
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:  # the file grew, or reports no size (/proc)
            raise _too_large(path, max_bytes)
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(path, _reason(exc)) from None
    finally:
        os.close(fd)


def read_text(path: Path | str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of ``path`` (see :func:`read_bytes`); InputFileError if not UTF-8."""
    return decode_text(read_bytes(path, max_bytes), path)


def decode_text(data: bytes, path: Path | str) -> str:
    """``data`` read from ``path`` as UTF-8 text; InputFileError naming ``path`` if not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_toml(path: Path | str, max_bytes: int = MAX_INPUT_BYTES) -> dict[str, Any]:
    """The TOML document in the file ``path`` (bounded read, see :func:`read_bytes`)."""
    return parse_toml(read_bytes(path, max_bytes), path)


def parse_toml(data: bytes, path: Path | str) -> dict[str, Any]:
    """The TOML document ``data`` read from ``path``; InputFileError naming ``path``.

    >>> parse_toml(b"a = 1", "x.toml")
    {'a': 1}
    """
    text = decode_text(data, path)
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of over 4300 digits
        raise InputFileError(path, f"invalid TOML ({printable(str(exc))})") from None
    except RecursionError:
        raise InputFileError(path, "invalid TOML (arrays or tables nested too deeply)") from None


def read_json(path: Path | str, max_bytes: int = MAX_INPUT_BYTES) -> Any:
    """The JSON document in the file ``path`` (bounded read, see :func:`read_bytes`)."""
    text = read_text(path, max_bytes)
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        raise InputFileError(path, f"invalid JSON ({printable(str(exc))})") from None
    except RecursionError:
        raise InputFileError(path, "invalid JSON (arrays or objects nested too deeply)") \
            from None


def without_none(value):
    """A copy of a resolved document without unset (None) entries, as TOML has no null."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def toml_text(document: dict) -> str:
    r"""``document`` as TOML text, unset (None) entries left out (TOML has no null).

    >>> toml_text({"a": 1, "b": None})
    'a = 1\n'
    """
    return tomli_w.dumps(without_none(document))


def json_text(document: Any) -> str:
    r"""``document`` as indented JSON text with a final newline; ValueError for a NaN or an
    infinity (not JSON).

    >>> json_text({"a": 1})
    '{\n  "a": 1\n}\n'
    """
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


#: Permissions of every file a run writes (read for all, as any output file).
FILE_MODE = 0o644


def atomic_write_bytes(path: Path, data: bytes, sync: bool = True) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename; ``sync`` also
    flushes it to the disk before the rename (a checkpoint needs only the rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json_text(obj))
