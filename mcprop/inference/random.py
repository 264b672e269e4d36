"""Counter-based random numbers for many independent walker groups at once.

Each group (one emcee ensemble at one mass) has a 64-bit key drawn from the run's
SeedSequence; the numbers of a group are a pure function of (key, counter). The counter
encodes the step, the half-ensemble update, the purpose of the number and the walker, so
a group's numbers do not depend on which other groups are sampled beside it, on the
worker, or on where a run was interrupted: a resumed run needs no generator state.

The generator is SplitMix64 (G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014; the seeding generator of numpy's own bit generators): the
output for counter n is mix(key + n x 0x9E3779B97F4A7C15). numpy's generators draw from one
stream at a time, so a vectorised draw for thousands of groups needs this form.
"""

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def group_keys(seed: int, point_indices, n_ensembles: int) -> np.ndarray:
    """64-bit keys (n_masses, n_ensembles) of SeedSequence(seed, spawn_key=(mass, ensemble))."""
    return np.array([[np.random.SeedSequence(seed, spawn_key=(int(m), e)).generate_state(
        1, np.uint64)[0] for e in range(n_ensembles)] for m in point_indices], dtype=np.uint64)


def uniforms(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Uniform numbers in [0, 1) for each (key, counter) pair (broadcast together).

    >>> u = uniforms(np.array([1, 2], dtype=np.uint64), np.arange(3, dtype=np.uint64)[:, None])
    >>> u.shape
    (3, 2)
    """
    z = np.asarray(keys, dtype=np.uint64) + np.asarray(counters, dtype=np.uint64) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * _TO_UNIT
