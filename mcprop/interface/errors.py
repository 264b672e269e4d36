"""The error users see: one line naming what is wrong and where, exit code 2."""

import importlib

#: The optional dependencies: the modules each extra of pyproject.toml installs.
EXTRAS = {"dask": ("dask", "distributed"), "hepdata": ("hepdata_lib",)}


class UserError(Exception):
    """Bad input from the user (config, files, arguments); reported in one line."""

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
