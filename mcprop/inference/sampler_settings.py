"""The settings of the lockstep sampler (:mod:`mcprop.inference.sampler`), apart from it.

Reading a run config needs these and not emcee: this module imports nothing heavy, so that
``mcprop run`` and ``mcprop.read_config`` reach the work before the sampling stack loads.

>>> SamplerSettings(n_walkers=16).n_ensembles
4
"""

from dataclasses import dataclass

#: The proposals a sampler can use (``SamplerSettings.proposal``).
PROPOSALS = ("de", "student-t")


@dataclass(frozen=True)
class SamplerSettings:
    """How long and how wide to sample, and when a grid point counts as converged.

    ``proposal``: ``"de"`` (differential evolution throughout) or ``"student-t"`` (DE, then,
    once the chains are past burn-in, a frozen Student-t independence proposal mixed with DE;
    see :func:`adapt_proposal`). ``max_steps`` is rounded up to whole chunks; the kept chain
    is at least ``min_kept_tau`` autocorrelation times (``min_kept_tau_t`` with the Student-t
    proposal, whose short tau is well estimated) and ``min_kept_steps`` steps long;
    ``checkpoint_interval_s`` is the least time between two checkpoints of the masses in
    progress (a killed run loses at most that).
    """

    n_ensembles: int = 4
    n_walkers: int = 48
    proposal: str = "student-t"
    chunk_steps: int = 50
    max_steps: int = 20000
    burn_in_tau: float = 5.0
    min_kept_tau: float = 20.0
    min_kept_tau_t: float = 10.0
    min_kept_steps: int = 100
    min_ess: float = 2000.0
    max_rhat: float = 1.01
    max_relative_mcse: float = 0.01
    initial_np_fraction: float = 0.3
    checkpoint_interval_s: float = 30.0

    def __post_init__(self):
        if self.n_ensembles < 2:
            raise ValueError("n_ensembles must be >= 2 (R-hat compares ensembles)")
        if self.chunk_steps < 1 or self.max_steps < self.chunk_steps:
            raise ValueError("need 1 <= chunk_steps <= max_steps")
        if self.n_walkers < 4:
            raise ValueError("n_walkers must be >= 4")
        if self.proposal not in PROPOSALS:
            raise ValueError(f"unknown proposal {self.proposal!r}; choose one of "
                             f"{', '.join(PROPOSALS)}")
