"""Maximum-posterior fits of a Standard-Model spectral config over a grid of the low-energy
response of the 14C light (width scale w, offset delta [N_h]; docs/physics.md sec. 14): for
each (w, delta), -2 ln posterior, the deviance (all bins and those starting below N_h 110),
pp, 7Be, the 14C and pile-up normalisations and the threshold tilt at the optimum. Each fit
starts from the previous one's optimum; the nuisances of the 14C light are held at 0 (the
scan sets the light itself).

    PYTHONPATH=$PWD python3 scripts/threshold_profile.py \\
        runs/borexino-phase2-spectral-sm.toml --floor 93 \\
        --point=0,3 --point=0,3.5 --point=-0.03,4.5 --point=0.02,2.75 [--tilt]
"""

import argparse
import tomllib
from pathlib import Path

from spectral_map import fit

from mcprop.inference.spectrum import SpectrumMeasurement, poisson_deviance
from mcprop.interface.config import config_from_dict
from mcprop.physics.parameters import LOW_ENERGY_RESPONSE_PARAMETERS

#: Bins that start below this N_h are "below the threshold region's end".
LOW_NH = 110


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--floor", type=int)
    parser.add_argument("--tilt", action="store_true", help="with the threshold tilt")
    parser.add_argument("--point", action="append", required=True,
                        help="w,delta (repeat; --point=-0.03,4.5 for a negative w)")
    args = parser.parse_args()
    start = None
    print(f"{'w':>7} {'delta':>6} {'-2lnP':>12} {'deviance':>9} {'<110':>6} {'pp':>5} "
          f"{'7Be':>6} {'14C':>6} {'pile-up':>7} {'tilt':>7}")
    for point in args.point:
        width, offset = (float(x) for x in point.split(","))
        document = tomllib.loads(args.config.read_text())
        section = document["measurements"][0]
        if args.floor is not None:
            width_nh = section.get("bin_width_nh", 1)
            high = section["nh_range"][1]
            section["nh_range"] = [args.floor, high - (high - args.floor + 1) % width_nh]
        section.update(threshold_tilt=args.tilt, threshold_width_scale=width,
                       threshold_offset_nh=offset)
        # the 14C light held at (w, delta): its nuisances are what this scan replaces
        priors = document["priors"]
        priors["fixed"] = [*priors.get("fixed", []), *LOW_ENERGY_RESPONSE_PARAMETERS]
        posterior = config_from_dict(document, args.config.parent,
                                     str(args.config)).plan.posterior()
        r = fit(posterior, section, start)
        start = r["nuisances"]
        measurement = next(m for m in posterior.measurements
                           if isinstance(m, SpectrumMeasurement))
        counts = posterior.expected_counts(r["nuisances"][None], 0)[measurement.name][0]
        low = measurement.nh_edges[:-1] + 0.5 < LOW_NH
        below = float(poisson_deviance(measurement.counts[low], counts[low]))
        print(f"{width:7.3f} {offset:6.2f} {r['neg2_log_posterior']:12.2f} "
              f"{r['deviance']:9.2f} {below:6.2f} {r['rate_pp_cpd100t']:5.0f} "
              f"{r['rate_7be_cpd100t']:6.2f} {r['bkg_c14_norm']:6.3f} "
              f"{r['bkg_pileup_norm']:7.3f} {r.get('bkg_threshold_tilt_norm', 0.0):+7.3f}",
              flush=True)


if __name__ == "__main__":
    main()
