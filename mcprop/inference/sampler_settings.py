"""The settings of the lockstep sampler (:mod:`mcprop.inference.sampler`), apart from it.

Reading a run config needs these and not emcee: this module imports nothing heavy, so that
``mcprop run`` and ``mcprop.read_config`` reach the work before the sampling stack loads.

>>> SamplerSettings(n_walkers=16).n_ensembles
4
"""

from dataclasses import dataclass

#: The proposals a sampler can use (``SamplerSettings.proposal``).
PROPOSALS = ("de", "student-t")
#: How the Student-t proposal is fitted (``SamplerSettings.proposal_fit``).
PROPOSAL_FITS = ("linear", "bounded")
#: Where walkers start (``SamplerSettings.start``; :func:`initial_chains`).
STARTS = ("mode", "prior")


@dataclass(frozen=True)
class SamplerSettings:
    """How long and how wide to sample, and when a grid point counts as converged.

    ``proposal``: ``"de"`` (differential evolution throughout) or ``"student-t"`` (DE, then,
    once the chains are past burn-in, a frozen Student-t independence proposal mixed with DE;
    see :func:`adapt_proposal`). ``max_steps`` is rounded up to whole chunks; the kept chain
    is at least ``min_kept_tau`` autocorrelation times (``min_kept_tau_t`` with the Student-t
    proposal, whose short tau is well estimated) and ``min_kept_steps`` steps long;
    ``checkpoint_interval_s`` is the least time between two checkpoints of the masses in
    progress (a killed run loses at most that). ``start``: where the walkers start
    (:func:`initial_chains`). ``proposal_fit``: ``"linear"`` fits the Student-t in the
    sampled coordinates, ``"bounded"`` also in y = sign(x) |x|^(1/k), k = 2 and 4, for
    new-physics coordinates bounded below at 0 (the coupling's t = (g/g_max)^4, a squared
    moment), and keeps per ensemble the candidate whose density fits the walkers' positions
    best (largest mean log q, Jacobian included). ``proposal_floor``: the least expected
    acceptance (pilot draws) of the Student-t in every ensemble for it to be used and
    frozen; below it the chains move by DE (:func:`adapt_proposal`). 0.15 is about where a
    frozen Student-t stops beating DE in 23 dimensions: measured kept-chain tau 4-8 steps at
    acceptance 0.5-0.65 (rate runs, DE 26) and 42-71 at 0.18-0.25 (spectral masses, DE
    96-99), i.e. tau ~ a^-2, which reaches DE's ~100 near a = 0.15.

    The stopping rule. A point stops when every reported quantity (g for a Z'; every
    sampled parameter and rate of a Standard-Model fit; each moment) has a bulk ESS of at
    least ``min_ess``, the largest rank-normalised split R-hat over the ensembles of every
    stored variable (nuisances included) is below ``max_rhat``, and the MCSE of an upper
    limit is at most ``max_relative_mcse`` of it (:func:`~mcprop.inference.diagnostics.diagnose`).
    The kept chain starts at the later of ``burn_in_tau`` x tau and the step at which the
    proposal was frozen (so that every kept step is a Metropolis-Hastings step of one fixed
    kernel; the freeze comes after two passing fits, at step 100 of the rate runs, step 50
    with ``start = "mode"`` and ``chunk_steps = 25``), and is at least
    max(``min_kept_tau`` x tau, ``min_kept_steps``) long. Why a
    minimum length besides the ESS: tau is estimated from the chains themselves (the
    walker-averaged autocorrelation summed over Sokal's window of 5 tau), and a chain a few
    tau long can hide a slow drift or a rarely visited region. With DE, whose tau is long
    and still drifting while the ensemble relaxes, 20 tau; with the frozen Student-t
    proposal the kernel is fixed and its tau short and averaged over 192-256 walkers, so 10
    tau. The step floor guards a short tau that is underestimated because each walker has
    made few accepted jumps (at acceptance 0.4 and weight 0.8, about 30 in 100 steps).
    ArviZ's ESS on the stored draws is a second, independent estimate of the same
    correlation: correlation that a too-short tau leaves in the thinned draws lowers it.
    """

    n_ensembles: int = 4
    n_walkers: int = 48
    proposal: str = "student-t"
    proposal_fit: str = "bounded"
    proposal_floor: float = 0.15
    start: str = "prior"
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
        if self.start not in STARTS:
            raise ValueError(f"unknown start {self.start!r}; choose one of {', '.join(STARTS)}")
        if self.proposal_fit not in PROPOSAL_FITS:
            raise ValueError(f"unknown proposal_fit {self.proposal_fit!r}; choose one of "
                             f"{', '.join(PROPOSAL_FITS)}")
        if not 0 <= self.proposal_floor <= 1:
            raise ValueError("proposal_floor must be in [0, 1]")
        if self.proposal not in PROPOSALS:
            raise ValueError(f"unknown proposal {self.proposal!r}; choose one of "
                             f"{', '.join(PROPOSALS)}")
