"""Known-answer tests of the sampler's numerical building blocks.

- The counter-based generator (mcprop.inference.random) against the published SplitMix64
  sequence: seeded with 0, the reference implementation (S. Vigna, splitmix64.c, which
  increments the state by 0x9E3779B97F4A7C15 before each output) returns
  0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC.
- The batched autocorrelation time (mcprop.inference.diagnostics.integrated_time) against
  emcee's own estimator and against the closed form of an AR(1) process.
"""

import emcee
import numpy as np
import pytest

from mcprop.inference.diagnostics import integrated_time
from mcprop.inference.random import uniforms

#: splitmix64.c seeded with 0: its first four outputs.
SPLITMIX64_FROM_ZERO = (0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F,
                        0xF88BB8A8724C81EC)


def test_uniforms_are_the_published_splitmix64_sequence():
    # output n of key k is SplitMix64's output n of seed k; uniforms keep its top 53 bits
    counters = np.arange(1, 5, dtype=np.uint64)
    u = uniforms(np.uint64(0), counters)
    expected = np.array([(x >> 11) * 2.0**-53 for x in SPLITMIX64_FROM_ZERO])
    assert np.array_equal(u, expected)


def test_uniforms_of_a_nonzero_key_continue_that_seeds_sequence():
    # seeding with the state after one step gives the sequence shifted by one
    golden = 0x9E3779B97F4A7C15
    u = uniforms(np.uint64(golden), np.arange(1, 4, dtype=np.uint64))
    expected = np.array([(x >> 11) * 2.0**-53 for x in SPLITMIX64_FROM_ZERO[1:]])
    assert np.array_equal(u, expected)


def _ar1(phi: float, n_walkers: int, n_steps: int, seed: int) -> np.ndarray:
    """AR(1) chains x_t = phi x_{t-1} + e_t, started in the stationary distribution."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n_walkers, n_steps))
    x = np.empty((n_walkers, n_steps))
    x[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, n_steps):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_integrated_time_equals_emcees_estimator(phi):
    chains = _ar1(phi, n_walkers=16, n_steps=4000, seed=3)
    # emcee takes (steps, walkers, parameters)
    reference = emcee.autocorr.integrated_time(chains.T[:, :, None], c=5, tol=0)[0]
    assert integrated_time(chains) == pytest.approx(reference, rel=1e-10)


def test_integrated_time_of_ar1_matches_its_closed_form():
    # tau = (1 + phi) / (1 - phi) for AR(1); the windowed estimator is within a few percent
    phi = 0.8
    chains = _ar1(phi, n_walkers=64, n_steps=20000, seed=4)
    assert integrated_time(chains) == pytest.approx((1 + phi) / (1 - phi), rel=0.05)


def test_integrated_time_batches_leading_axes():
    a, b = _ar1(0.3, 8, 2000, 5), _ar1(0.7, 8, 2000, 6)
    batched = integrated_time(np.stack([a, b]))
    assert batched == pytest.approx([float(integrated_time(a)), float(integrated_time(b))],
                                    rel=1e-12)
