"""Maximum-posterior fits and profile-likelihood limits of a spectral run config, without
sampling.

For a Standard-Model config: the nuisances are moved by damped Newton
(mcprop.inference.limits.best_fit_nuisances) from their prior centres to the maximum of
L(D | nu) pi(nu); printed: the Poisson deviance there and that of Borexino's own best-fit
model on the same bins, the interaction rates [cpd/100t] and the response nuisances at the
maximum. For a Z' config: the profile-likelihood limit (-2 Delta ln L = 2.7055) at each grid
mass. Options change the spectrum section of the config (floor, response, whether the
backgrounds follow the response, the threshold tilt) and the parameters held at their prior
centres, so that one config gives a whole table.

    PYTHONPATH=$PWD python3 scripts/spectral_map.py runs/borexino-phase2-spectral-sm.toml \\
        --floors 100 110 130 150 [--response coloma2022] [--fixed-backgrounds] [--fix-response]
    PYTHONPATH=$PWD python3 scripts/spectral_map.py runs/spectral-nuisances/all-sampled.toml
"""

import argparse
import tomllib
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from mcprop.inference.limits import best_fit_nuisances, profile_likelihood_limit
from mcprop.inference.plan import PROFILE_LEVEL_90
from mcprop.inference.spectrum import SpectrumMeasurement, poisson_deviance
from mcprop.interface.config import config_from_dict
from mcprop.physics.parameters import RESPONSE_PARAMETERS


def posterior_of(config_path: Path, floor: int | None, response: str | None, follow: bool,
                 fix_response: bool, tilt: bool):
    """The posterior of the config with these changes, and its spectrum section."""
    document = tomllib.loads(config_path.read_text())
    section = document["measurements"][0]
    if floor is not None:
        section["nh_range"] = [floor, section["nh_range"][1]]
        width = section.get("bin_width_nh", 1)
        span = section["nh_range"][1] - floor + 1
        section["nh_range"][1] -= span % width  # whole bins
    if response is not None:
        section["response"] = response
    section["backgrounds_follow_response"] = follow
    section["threshold_tilt"] = tilt
    if fix_response:
        document["priors"]["fixed"] = [*document["priors"].get("fixed", []),
                                       *RESPONSE_PARAMETERS]
    return (config_from_dict(document, config_path.parent, str(config_path)).plan.posterior(),
            section)


def fit(posterior, section, start=None) -> dict:
    """The maximum-posterior point of a Standard-Model posterior, and what it gives, Newton
    started from ``start`` (the prior centres if None)."""
    centres = posterior.priors.centres()
    if start is None:
        start = np.array([centres[name] for name in posterior.nuisance_names])
    with threadpool_limits(1):
        value, best = best_fit_nuisances(posterior, 0, start)
    measurement = next(m for m in posterior.measurements if isinstance(m, SpectrumMeasurement))
    counts = posterior.expected_counts(best[None], 0)[measurement.name][0]
    quantities = posterior.quantities(best[None], 0)
    return {"nh_range": section["nh_range"], "n_bins": measurement.n_bins,
            "deviance": float(poisson_deviance(measurement.counts, counts)),
            "borexino": measurement.reference_deviance, "neg2_log_posterior": value,
            "nuisances": best,
            **{k: float(np.ravel(v)[0]) for k, v in quantities.items()}}


def profile_limits(posterior, start=None) -> tuple[list[tuple[float, float]], np.ndarray]:
    """(mass [MeV], profile-likelihood g limit) at every grid mass of a Z' posterior, the
    nuisances started from their maximum at g = 0 (Newton from ``start``, the prior centres
    if None); and that maximum at the first mass."""
    centres = posterior.priors.centres()
    if start is None:
        start = np.array([centres[name] for name in posterior.nuisance_names])
    limits, first = [], None
    with threadpool_limits(1):
        for index, mass in enumerate(posterior.new_physics.masses_MeV):
            _, best = best_fit_nuisances(posterior, index, start)
            first = best if first is None else first
            limit = profile_likelihood_limit(posterior, index, PROFILE_LEVEL_90, start=best)
            limits.append((float(mass), limit["g_upper_profile"]))
    return limits, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--floors", type=int, nargs="*", default=[None])
    parser.add_argument("--response", choices=("calibrated", "coloma2022"))
    parser.add_argument("--fixed-backgrounds", action="store_true",
                        help="background shapes do not follow the response nuisances")
    parser.add_argument("--fix-response", action="store_true",
                        help="hold the response nuisances at 0")
    parser.add_argument("--no-tilt", action="store_true",
                        help="no shape nuisance of the threshold backgrounds")
    args = parser.parse_args()
    runs = [(floor, posterior_of(args.config, floor, args.response, not args.fixed_backgrounds,
                                 args.fix_response, not args.no_tilt)) for floor in args.floors]
    if runs[0][1][0].new_physics.names:  # a Z': profile-likelihood limits
        previous = None
        for _, (posterior, section) in runs:  # each floor started from the last one's
            limits, previous = profile_limits(posterior, previous)
            print(f"N_h {section['nh_range'][0]}-{section['nh_range'][1]}: "
                  + ", ".join(f"g_profile({m:g} MeV) = {g:.4g}" for m, g in limits),
                  flush=True)
        return
    print(f"{'N_h range':>10} {'bins':>5} {'deviance':>9} {'Borexino':>9} {'7Be':>7} "
          f"{'pp':>7} {'pep':>6} {'scale':>8} {'offset':>7} {'width':>7} {'tilt':>7}")
    previous = None
    for _, (posterior, section) in runs:  # each floor started from the last one's optimum
        r = fit(posterior, section, previous)
        previous = r["nuisances"]
        print(f"{r['nh_range'][0]:>4}-{r['nh_range'][1]:<5} {r['n_bins']:>5} "
              f"{r['deviance']:9.2f} {r['borexino']:9.2f} {r['rate_7be_cpd100t']:7.2f} "
              f"{r['rate_pp_cpd100t']:7.1f} {r['rate_pep_cpd100t']:6.2f} "
              f"{r.get('nh_energy_scale', 0.0):+8.4f} {r.get('nh_offset', 0.0):+7.2f} "
              f"{r.get('nh_resolution_scale', 0.0):+7.3f} "
              f"{r.get('bkg_threshold_tilt_norm', 0.0):+7.3f}", flush=True)


if __name__ == "__main__":
    main()
