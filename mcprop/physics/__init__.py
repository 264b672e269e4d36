"""Physics: constants, flavour content, cross sections, rate kernels, muon g-2.

Pure functions on numpy arrays; nothing here knows about sampling, files or the CLI.
"""
