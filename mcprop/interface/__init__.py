"""Interface: run configs, run directories and exports, plots, the command line."""
