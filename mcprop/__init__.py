"""mcprop: Monte Carlo uncertainty propagation for solar-neutrino bounds on a light Z'.

>>> import mcprop                                                    # doctest: +SKIP
>>> r = mcprop.run("runs/borexino-phase1.toml")     # sample; returns a ScanResult
>>> r.limits                                        # pandas DataFrame of g_90(m)
>>> same = mcprop.load("runs/output/borexino-phase1")   # a run directory of the CLI

``run``, ``load`` and ``ScanResult`` are imported on first use, so that importing the
package (and starting the command line) stays fast.
"""

__version__ = "0.2.0"
__all__ = ["ScanResult", "coverage", "load", "run"]


def __getattr__(name: str):
    if name in __all__:
        from mcprop.interface import api

        return getattr(api, name)
    raise AttributeError(f"module 'mcprop' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
