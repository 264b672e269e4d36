"""Posterior throughput: precomputed kernels against integrating dsigma/dT for every sample.

Both posteriors take the same samples of the default config at one mass; the naive one
integrates the recoil spectrum (SM and Z', window and total) with adaptive quadrature for
each sample. Their log-posteriors are checked equal to 1e-6 before timing.

    python benchmarks/bench_posterior.py [--samples 10000] [--naive-samples 200]
"""

import argparse
import platform
import warnings
from dataclasses import replace

import numpy as np
from common import DEFAULT_CONFIG, median_seconds
from scipy.integrate import quad

from mcprop.inference.posterior import FLUX
from mcprop.interface.config import load_config
from mcprop.physics.constants import M_ELECTRON_MEV, SECONDS_PER_DAY
from mcprop.physics.kernels import TOTAL_RATE
from mcprop.physics.scattering import dsigma_dT_zprime, t_max_MeV
from mcprop.physics.solar import BE7_LINES


class NaivePosterior:
    """The same posterior with every rate integrated over T at run time, sample by sample."""

    def __init__(self, posterior, mass_index: int):
        self.posterior = posterior
        self.zprime = posterior.new_physics
        self.index = mass_index
        self.mass_MeV = float(self.zprime.masses_MeV[mass_index])

    def _window_integral(self, response, line, mass, g, probabilities):
        low, high = response.integration_range_MeV(float(t_max_MeV(line.energy_MeV)))
        peak = mass**2 / (2 * M_ELECTRON_MEV)

        def integrand(t):
            d = dsigma_dT_zprime(t, line.energy_MeV, mass, g, self.zprime.model,
                                 interference=self.zprime.interference)[:, 0]
            return float(response.weight(t) * (probabilities @ d))

        points = [peak] if low < peak < high else None
        return quad(integrand, low, high, points=points, epsabs=0, epsrel=1e-10, limit=200)[0]

    def __call__(self, coords):
        post = self.posterior
        out = np.empty(len(coords))
        for i, row in enumerate(coords):
            nuisances = dict(zip(post.nuisance_names, row[1:], strict=True))
            total = float(self.zprime.log_prior(row[None, :1], np.array([self.index]))[0]
                          + post.priors.log_density(nuisances))
            g = float(self.zprime.coupling(row[0], self.index))
            params = post.parameters(nuisances)
            for measurement, kernels in zip(post.measurements, self.zprime.kernels,
                                            strict=True):
                lines = [BE7_LINES[name] for name in measurement.lines]
                sums = np.zeros(3)
                for line in lines:
                    p = post.flavour.probabilities(params, line.energy_MeV)
                    sums += line.branching * np.array([
                        self._window_integral(measurement.response, line, self.mass_MeV, 0.0, p),
                        self._window_integral(measurement.response, line, self.mass_MeV, g, p),
                        self._window_integral(TOTAL_RATE, line, self.mass_MeV, 0.0, p)])
                sm_window, full_window, sm_total = sums
                rate_sm = params[FLUX] * kernels.electrons * SECONDS_PER_DAY * sm_total
                rate = rate_sm * full_window / sm_window
                total += float(measurement.log_likelihood(rate, rate_sm))
            out[i] = total
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--naive-samples", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--mass-MeV", type=float, default=10.0, dest="mass")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    plan = load_config(DEFAULT_CONFIG).plan
    grid = plan.masses_MeV
    plan = replace(plan, masses_MeV=np.sort(np.append(grid, args.mass)))
    posterior = plan.posterior()
    index = int(np.searchsorted(plan.masses_MeV, args.mass))
    rng = np.random.default_rng(1)
    draws = posterior.priors.sample(rng, args.samples)
    coords = np.column_stack([rng.uniform(0, 0.05, args.samples)]
                             + [draws[name] for name in posterior.nuisance_names])
    naive = NaivePosterior(posterior, index)

    subset = coords[: args.naive_samples]
    kernel_values, naive_values = posterior(subset, index), naive(subset)
    agreement = np.max(np.abs(kernel_values - naive_values) / np.abs(naive_values))
    assert agreement < 1e-6, f"kernel and naive posteriors differ by {agreement:.2e}"

    kernel_s, _ = median_seconds(lambda: posterior(coords, index), args.repeats)
    mixed = rng.integers(0, len(plan.masses_MeV), args.samples)
    mixed_s, _ = median_seconds(lambda: posterior(coords, mixed), args.repeats)
    naive_s, _ = median_seconds(lambda: naive(subset), 3)
    kernel_ns = kernel_s / args.samples * 1e9
    naive_ns = naive_s / args.naive_samples * 1e9
    small_s, _ = median_seconds(lambda: posterior(coords[:24], index), 200)
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}")
    print(f"posterior at m = {args.mass:g} MeV, {len(posterior.names)} sampled parameters")
    print(f"agreement kernel vs naive on {args.naive_samples} samples: max rel. diff "
          f"{agreement:.1e}")
    print(f"kernel posterior: {kernel_ns:8.1f} ns/sample (median of {args.repeats}, batch of "
          f"{args.samples})")
    print(f"naive posterior : {naive_ns:8.0f} ns/sample (median of 3, {args.naive_samples} "
          f"samples)")
    print(f"speed-up        : {naive_ns / kernel_ns:8.0f}x")
    print(f"kernel posterior, batch of {args.samples} spread over all {len(plan.masses_MeV)} "
          f"masses: {mixed_s / args.samples * 1e9:.1f} ns/sample")
    print(f"kernel posterior, batch of 24 (one half-ensemble): {small_s * 1e6:.0f} us/call, "
          f"{small_s / 24 * 1e9:.0f} ns/sample")


if __name__ == "__main__":
    main()
