"""The errors mcprop reports to its users: one line naming what is wrong and where.

Every error a user can cause (a bad config, argument, input file or run directory; an
output that cannot be written; an optional dependency not installed) is a
:class:`McpropError`; the command line prints it in one line and exits with code 2
(:data:`EXIT_USER_ERROR`). A message names options as the command line spells them
(``--force``): the command line prints :attr:`McpropError.cli_message`; ``str()``, what the
Python API shows, names them as the API does (``force=True``, :data:`API_SPELLING`).

>>> import mcprop
>>> try:
...     mcprop.load("no-such-folder")
... except mcprop.McpropError as exc:       # or mcprop.errors.RunDirectoryError
...     print(type(exc).__name__)
RunDirectoryError

This module sits at the bottom of the package (it imports no other mcprop module).
"""

import importlib
import re

#: The optional dependencies: the modules each extra of pyproject.toml installs.
EXTRAS = {"dask": ("dask", "distributed"), "hepdata": ("hepdata_lib",)}
#: Options a message may name, as the command line spells them, and their spelling in the
#: Python API (``mcprop.run`` and friends).
API_SPELLING = {"--resume": "resume=True", "--force": "force=True", "--out": "out",
                "--workers": "workers", "--seed": "seed", "--executor": "executor",
                "--scheduler": "scheduler", "--context": "context", "--overlay": "overlays",
                "--expected": "expected", "--mass-MeV": "mass_MeV", "--g": "g",
                "--toys": "toys", "--draw": "draw"}
_OPTION = re.compile(r"(?<![\w-])(" + "|".join(API_SPELLING) + r")(?![\w-])")
#: Exit code of the command line for every McpropError.
EXIT_USER_ERROR = 2


class McpropError(Exception):
    """Bad input from the user; reported in one line (the base of mcprop's errors).

    >>> str(McpropError("run: exists; use --resume to continue it"))
    'run: exists; use resume=True to continue it'
    >>> McpropError("run: exists; use --resume to continue it").cli_message
    'run: exists; use --resume to continue it'
    """

    @property
    def cli_message(self) -> str:
        """The message as the command line prints it (options spelled ``--like-this``)."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return _OPTION.sub(lambda match: API_SPELLING[match[1]], self.cli_message)


#: The name of :class:`McpropError` before the hierarchy (still accepted).
UserError = McpropError


class ConfigError(McpropError):
    """A run config or prior file that cannot be used (a key, a value, a file it names)."""


class ArgumentError(McpropError):
    """A bad argument of a function or command (``workers``, ``--mass-MeV``, ...)."""


class RunDirectoryError(McpropError):
    """A run directory that cannot be read, resumed or started again (missing, damaged,
    made by another run or version, in use)."""


class OutputError(McpropError):
    """An output (export, figure, run directory) that cannot be written where asked."""


class MissingDependencyError(McpropError):
    """An optional dependency needed for what was asked is not installed."""


def require_extra(extra: str, what: str) -> None:
    """Import the modules of the optional dependency ``extra``; MissingDependencyError
    naming the extra to install if one is missing.

    >>> require_extra("hepdata", "a HEPData table")            # doctest: +SKIP
    mcprop.errors.MissingDependencyError: a HEPData table needs hepdata_lib, an optional
    dependency: pip install "mcprop[hepdata]"
    """
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingDependencyError(f"{what} needs {module}, an optional dependency: "
                                         f"pip install \"mcprop[{extra}]\"") from None
