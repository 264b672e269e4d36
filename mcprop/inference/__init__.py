"""Inference: priors, likelihoods, the posterior at one mass, sampling, limits, mass scans."""
