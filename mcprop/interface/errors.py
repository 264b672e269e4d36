"""The error users see: one line naming what is wrong and where, exit code 2."""

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


class UserError(Exception):
    """Bad input from the user (config, files, arguments); reported in one line.

    A message names options as the command line spells them (``--force``): the command line
    prints :attr:`cli_message`; ``str()``, what the Python API shows, names them as the API
    does (``force=True``).

    >>> str(UserError("run: exists; use --resume to continue it"))
    'run: exists; use resume=True to continue it'
    """

    @property
    def cli_message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return _OPTION.sub(lambda match: API_SPELLING[match[1]], self.cli_message)


EXIT_USER_ERROR = 2


def require_extra(extra: str, what: str) -> None:
    """Import the modules of the optional dependency ``extra``; UserError naming the extra
    to install if one is missing.

    >>> require_extra("hepdata", "a HEPData table")            # doctest: +SKIP
    mcprop.interface.errors.UserError: a HEPData table needs hepdata_lib, an optional
    dependency: pip install "mcprop[hepdata]"
    """
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise UserError(f"{what} needs {module}, an optional dependency: "
                            f"pip install \"mcprop[{extra}]\"") from None
