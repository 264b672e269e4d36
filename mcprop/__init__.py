"""mcprop: Monte Carlo uncertainty propagation for solar-neutrino bounds on a light Z'."""

__version__ = "0.1.0"
