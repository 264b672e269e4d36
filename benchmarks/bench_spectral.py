"""Cost of the spectral likelihood: template precomputation and posterior throughput.

Side by side in one process on the shipped spectral config (N_h 110-949, 168 bins): the
templates for its 25 masses and for one mass, and the posterior per sample at a batch of
10,000 and at the batch the sampler makes (one half-ensemble of every mass of a block), with
the time split between the flavour probabilities at the 23 node energies, the templates and
the priors. The default rate posterior is timed beside it for the ratio.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_spectral.py [--repeats 5]
"""

import argparse
import platform
from dataclasses import replace

import numpy as np
from common import DEFAULT_CONFIG, REPO, median_seconds
from threadpoolctl import threadpool_limits

from mcprop.inference.spectrum import SpectrumMeasurement, template_inputs
from mcprop.interface.config import load_config

SPECTRAL_CONFIG = REPO / "runs" / "borexino-phase2-spectral.toml"


def per_sample_ns(posterior, coords, point, repeats) -> float:
    seconds, _ = median_seconds(lambda: posterior(coords, point), repeats)
    return 1e9 * seconds / len(coords)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    print(f"{platform.machine()}, {platform.python_version()}, numpy {np.__version__}")
    with threadpool_limits(1):
        config = load_config(SPECTRAL_CONFIG)
        plan = config.plan
        grid, _ = median_seconds(plan.posterior, 1)
        one_mass = replace(plan, masses_MeV=plan.masses_MeV[:1])
        single, _ = median_seconds(one_mass.posterior, args.repeats)
        posterior = plan.posterior()
        print(f"templates + posterior set-up: {grid:6.2f} s for {len(plan.masses_MeV)} masses, "
              f"{single:6.2f} s for one (median of {args.repeats})")

        rng = np.random.default_rng(1)
        n_points = posterior.new_physics.n_points
        point = rng.integers(0, n_points, args.samples)
        coords = np.vstack([posterior.start(rng, 1, int(p), 0.3) for p in point])
        spectral = per_sample_ns(posterior, coords, point, args.repeats)
        half = plan.sampler.n_walkers // 2 * plan.sampler.n_ensembles
        block_point = np.repeat(np.arange(min(n_points, 13)), half)
        block = np.vstack([posterior.start(rng, half, int(p), 0.3)
                           for p in range(min(n_points, 13))])
        block_ns = per_sample_ns(posterior, block, block_point, args.repeats)

        measurement = next(m for m in posterior.measurements
                           if isinstance(m, SpectrumMeasurement))
        index = posterior.measurements.index(measurement)
        templates = posterior.new_physics.kernels[index]
        x, nuisances = posterior._split(coords)
        params = posterior.parameters(nuisances)
        g = posterior.new_physics.values(x, point)

        def inputs_with_new_probabilities():
            probability = posterior._probabilities(params, g, point, g.shape)
            return template_inputs(templates, params, probability, g.shape)

        with_probabilities, _ = median_seconds(inputs_with_new_probabilities, args.repeats)
        fresh = posterior._probabilities(params, g, point, g.shape)
        template_inputs(templates, params, fresh, g.shape)   # fills the cache of P_ea
        inputs_s, _ = median_seconds(lambda: template_inputs(templates, params, fresh, g.shape),
                                     args.repeats)
        inputs = template_inputs(templates, params, fresh, g.shape)
        counts_s, _ = median_seconds(
            lambda: posterior.new_physics.counts(index, inputs, g, point), args.repeats)
        priors_s, _ = median_seconds(lambda: posterior.priors.log_density(nuisances),
                                     args.repeats)

        default = load_config(DEFAULT_CONFIG).plan.posterior()
        d_point = rng.integers(0, default.new_physics.n_points, args.samples)
        d_coords = np.vstack([default.start(rng, 1, int(p), 0.3) for p in d_point])
        rate = per_sample_ns(default, d_coords, d_point, args.repeats)

    n = args.samples
    print(f"spectral posterior, {len(posterior.names)} sampled parameters, "
          f"{measurement.n_bins} bins, {len(templates.node_energies_MeV)} probability nodes")
    print(f"  batch of {n} over {n_points} masses : {spectral:8.0f} ns/sample")
    print(f"  batch of {len(block)} (half-ensembles of 13 masses): {block_ns:8.0f} ns/sample")
    node_ns = 1e9 * (with_probabilities - inputs_s) / n
    print(f"  of which P_ea at the nodes (MSW)     : {node_ns:8.0f} ns/sample")
    print(f"             template inputs           : {1e9 * inputs_s / n:8.0f} ns/sample")
    print(f"             expected counts           : {1e9 * counts_s / n:8.0f} ns/sample")
    print(f"             priors                    : {1e9 * priors_s / n:8.0f} ns/sample")
    print(f"default rate posterior, batch of {n}   : {rate:8.0f} ns/sample")
    print(f"ratio spectral / rate                  : {spectral / rate:8.1f}")


if __name__ == "__main__":
    main()
