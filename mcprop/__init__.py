"""mcprop: Monte Carlo uncertainty propagation for solar-neutrino bounds on a light Z'.

>>> import mcprop                                                    # doctest: +SKIP
>>> r = mcprop.run("runs/borexino-phase1.toml")     # sample; returns a ScanResult
>>> r.limits                                        # pandas DataFrame of g_90(m)
>>> same = mcprop.load("runs/output/borexino-phase1")   # a run directory of the CLI
>>> d = mcprop.read_config("borexino-phase1")      # a shipped config as a dict, to edit

``run``, ``load``, ``read_config``, ``coverage`` and ``ScanResult`` are imported on first
use, so that importing the package (and starting the command line) stays fast. Every error
mcprop reports to its user is a :class:`McpropError`; its kinds are in :mod:`mcprop.errors`.
"""

import importlib

from mcprop import errors
from mcprop.errors import McpropError

__version__ = "0.2.0"
#: The public names and the modules of mcprop.interface that define them.
_PUBLIC = {"ScanResult": "result", "coverage": "api", "load": "result", "read_config": "config",
           "run": "api"}
__all__ = ["McpropError", "ScanResult", "coverage", "errors", "load", "read_config", "run"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"mcprop.interface.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'mcprop' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
