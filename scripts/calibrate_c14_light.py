"""Calibrate the light of the 14C decays below the N_h range of the response calibration.

The N_h response is calibrated on N_h >= 100 (scripts/calibrate_response.py); the 14C
electrons (T < Q = 156.5 keV) sit on its extrapolation, below N_h 66. What Borexino's own
response makes of them is its fitted 14C component (PRD 100, 082004 (2019) Fig. 6a,
digitised; non-zero on N_h 93-117). This script finds the offset delta [N_h] of the mean 14C
light at which the physics model (mcprop.physics.threshold_backgrounds: the 14C beta spectrum
at its activity, 40 Bq/100t, folded with the calibrated response at its width) gives that
component: least squares on the Pearson residuals of Borexino's 14C counts with the Phase-II
exposure, unit bins N_h 93-117, the width scale w held at 0 (delta and w are nearly
degenerate on a tail of 25 bins; the fit of both is printed as a check). Its statistical
error is the inverse Fisher matrix of those counts.

The result is mcprop.physics.threshold_backgrounds.C14_LIGHT_OFFSET_NH; with the fit of the
spectrum itself (docs/physics.md sec. 14) it sets the priors of ``nh_c14_offset`` and
``nh_c14_resolution_scale`` (priors/borexino-phase2-backgrounds.toml).

    PYTHONPATH=$PWD python3 scripts/calibrate_c14_light.py
"""

import numpy as np
from scipy.optimize import least_squares

from mcprop.physics.borexino_phase2 import load_borexino_phase2
from mcprop.physics.nh_response import load_nh_response
from mcprop.physics.threshold_backgrounds import c14_rates_cpd100t


def main() -> None:
    data, response = load_borexino_phase2(), load_nh_response()
    c14 = data.background_rates["c14"]
    inside = (data.background_nh >= 93) & (c14 > 0)
    nh, target = data.background_nh[inside], c14[inside] * data.exposure_day_100t

    def counts(offset_nh, width_scale=0.0):
        shifted = response.shifted(resolution_scale=width_scale, offset_nh=offset_nh)
        return c14_rates_cpd100t(shifted, nh) * data.exposure_day_100t

    def pearson(x):
        return (counts(*x) - target) / np.sqrt(target)

    print(f"Borexino's 14C component: N_h {nh.min()}-{nh.max()}, {target.sum():.0f} counts")
    offset = least_squares(pearson, [3.5])
    error = float(np.sqrt(np.linalg.inv(offset.jac.T @ offset.jac)[0, 0]))
    print(f"offset at w = 0: {offset.x[0]:.3f} +- {error:.3f} N_h "
          f"(chi2 {np.sum(offset.fun**2):.1f} for {nh.size} bins; "
          f"counts ratio {counts(offset.x[0]).sum() / target.sum():.3f})")
    both = least_squares(pearson, [3.5, 0.0])
    errors = np.sqrt(np.diag(np.linalg.inv(both.jac.T @ both.jac)))
    print(f"offset and width together: {both.x[0]:.2f} +- {errors[0]:.2f} N_h, "
          f"w = {both.x[1]:+.3f} +- {errors[1]:.3f} (chi2 {np.sum(both.fun**2):.1f})")


if __name__ == "__main__":
    main()
