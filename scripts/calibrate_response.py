"""Calibrate the N_h response on what Borexino published, and write it as package data.

The response of P. Coloma et al. (JHEP 07 (2022) 138, arXiv:2204.03011) is the starting
point: mean N_h(T) a cubic in the recoil energy T, Gaussian width
sigma(N) = a + b sqrt(N) + c N. Three parameters are calibrated on it: the energy scale s
(light yield), the offset o [N_h] and the width scale r, mean (1 + s) N_h(T) + o and width
(1 + r) sigma(N_h(T)) (mcprop.physics.nh_response.NhResponse). Two calibrations:

- ``best-fit``: Borexino's best-fit model of the TFC-subtracted spectrum (Nature 562, 505
  (2018) Fig. 2a: rate - residual x error; mcprop.inference.spectrum.borexino_best_fit) as
  data, N_h 100-949 in unit bins, fitted with the project's Standard-Model solar spectra
  (pp, 7Be, pep fluxes free; CNO and 8B at B16-GS98; NuFIT 5.0 best fit; MSW over each
  source's B16-GS98 production profile; BKS corrections) plus Borexino's background shapes
  (PRD 100, 082004 (2019) Fig. 6a, as the detector saw them) with free normalisations (no
  threshold tilt: Borexino's model has Borexino's shapes);
- ``solar-curve``: Borexino's summed solar curve of Fig. 6a alone (digitised), fitted with the
  solar spectra only (the three fluxes free), N_h 100-949: a cross-check on the same response
  with the backgrounds out of the way.

Each fit minimises the Poisson deviance of the curve against the model (least squares on the
Pearson residuals, iterated: the quadratic response model of the templates is re-centred on
the fitted response until the shifts are below 1e-3 of their steps). Its covariance is the
inverse Fisher matrix of a spectrum with the Phase-II exposure whose expectation is the curve
(J^T J of the residuals (mu - n) / sqrt(n)), every other parameter profiled: the precision with
which the public spectrum pins the response. The calibration's uncertainty is that covariance
with the difference between the two calibrations added in quadrature to each variance (a
systematic of the method: digitised curve against the full model).

Output: mcprop/physics/data/borexino_phase2_response_calibrated.csv (coefficients, the
calibrated s, o, r folded in) and a report on stdout (values, covariance, deviances) that
goes into mcprop/physics/data/borexino_phase2.md and priors/borexino-phase2-backgrounds.toml.

    PYTHONPATH=$PWD python3 scripts/calibrate_response.py [--write]
"""

import argparse
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from mcprop.inference.spectrum import (
    borexino_best_fit,
    borexino_phase2_spectrum,
    poisson_deviance,
)
from mcprop.interface.config import config_from_dict
from mcprop.physics.borexino_phase2 import load_borexino_phase2, rebin
from mcprop.physics.nh_response import NH_RESPONSES, load_nh_response
from mcprop.physics.parameters import RESPONSE_PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "runs" / "borexino-phase2-spectral-sm.toml"
OUTPUT = ROOT / "mcprop" / "physics" / "data" / NH_RESPONSES["calibrated"][0]
#: The calibration window [N_h], inclusive: Borexino's own model misfits N_h 93-99
#: (deviance about 10 per bin) and fits from 100 on.
WINDOW = (100, 949)
FREE_FLUXES = ("flux_pp_cm2s", "flux_7be_cm2s", "flux_pep_cm2s")
MAX_ITERATIONS = 6


def posterior_for(response, coherent: bool):
    """The Standard-Model posterior of the SM run config on N_h 100-949 in unit bins, with
    ``response``; the background shapes (Borexino's, seen with its response) fixed, or
    ``coherent``: following the response nuisances."""
    document = tomllib.loads(CONFIG.read_text())
    document["measurements"][0]["response"] = "coloma2022"  # (replaced below)
    config = config_from_dict(document, CONFIG.parent, str(CONFIG))
    measurement = borexino_phase2_spectrum(*WINDOW, 1, response=response,
                                           threshold_backgrounds="digitised")
    if not coherent:
        measurement = replace(measurement, background_shapes=None)
    plan = replace(config.plan, measurements=(measurement,))
    return plan.posterior(), measurement


def fit(target, response, with_backgrounds: bool, coherent: bool = False):
    """Least-squares Poisson fit of ``target`` counts (unit bins of WINDOW); returns the
    response shifts, their covariance (others profiled), the deviance, the fitted values."""
    posterior, measurement = posterior_for(response, coherent)
    names = posterior.names
    centres = posterior.priors.centres()
    base = np.array([centres[n] for n in names])
    free = [n for n in names if n in FREE_FLUXES
            or (n.startswith("bkg_") and n in measurement.parameters)] + list(RESPONSE_PARAMETERS)
    if not with_backgrounds:  # the backgrounds at zero
        free = [n for n in free if not n.startswith("bkg_")]
        base[[i for i, n in enumerate(names) if n.startswith("bkg_")]] = 0.0
    index = [names.index(n) for n in free]
    scale = np.array([abs(base[i]) if abs(base[i]) > 0 else 1.0 for i in index])
    for i, n in zip(index, free, strict=True):
        base[i] = 0.0 if n in RESPONSE_PARAMETERS else base[i]
    scale = np.where([n in RESPONSE_PARAMETERS for n in free], 1.0, scale)

    def model(z):
        coords = base.copy()
        coords[index] = z
        return posterior.expected_counts(coords[None], 0)[measurement.name][0]

    def residuals(x):
        z = base[index] + x * scale
        return (model(z) - target) / np.sqrt(np.maximum(target, 1.0))

    solution = least_squares(residuals, np.zeros(len(free)), x_scale=1.0, diff_step=1e-4)
    x = base[index] + solution.x * scale
    jac = solution.jac / scale[None]
    covariance = np.linalg.inv(jac.T @ jac)
    k = [free.index(n) for n in RESPONSE_PARAMETERS]
    fitted = dict(zip(free, x, strict=True))
    coords = base.copy()
    coords[index] = x
    fitted["rate_7be_cpd100t"] = float(np.ravel(
        posterior.quantities(coords[None], 0)["rate_7be_cpd100t"])[0])
    mu = model(x)
    return (np.array([fitted[n] for n in RESPONSE_PARAMETERS]), covariance[np.ix_(k, k)],
            float(poisson_deviance(target, mu)), fitted)


def calibrate(target, with_backgrounds: bool, label: str):
    """Iterate the fit, folding the shifts into the response; returns the calibrated
    response, the total shifts from Coloma et al., their covariance and the last fit."""
    response = load_nh_response("coloma2022")
    total = np.zeros(3)
    for iteration in range(MAX_ITERATIONS):
        shifts, covariance, deviance, fitted = fit(target, response, with_backgrounds)
        response = fold(response, shifts)
        total = np.array([response.energy_scale, response.offset_nh, response.resolution_scale])
        print(f"{label} iteration {iteration}: shifts {shifts}, deviance {deviance:.2f} "
              f"for {len(target)} bins, 7Be flux {fitted['flux_7be_cm2s']:.4g}",
              file=sys.stderr)
        if np.all(np.abs(shifts) < 1e-3 * np.array([0.01, 4.0, 0.1])):
            break
    # the covariance with every component following the response, as in the fits that use
    # it (the background shapes are Borexino's, so their nominal response is the calibrated
    # one: the shifts of this fit stay near 0)
    shifts, covariance, deviance, fitted = fit(target, response, with_backgrounds, True)
    print(f"{label} with coherent backgrounds: shifts {shifts}, deviance {deviance:.2f}",
          file=sys.stderr)
    return response, total, covariance, deviance, fitted


def fold(response, shifts):
    """The response moved by ``shifts`` (s, o, r) relative to its current nuisances: the
    mean (1 + s') N_h + o' and width (1 + r') sigma of the accumulated nuisances."""
    s, o, r = shifts
    s_total = (1 + response.energy_scale) * (1 + s) - 1
    o_total = (1 + s) * response.offset_nh + o
    r_total = (1 + response.resolution_scale) * (1 + r) - 1
    return replace(response, energy_scale=s_total, offset_nh=o_total,
                   resolution_scale=r_total)


def coefficients(response):
    """Mean and width coefficients of ``response`` with its nuisances folded in."""
    mean = (1 + response.energy_scale) * np.array(response.nh_mean_coefficients)
    mean[0] += response.offset_nh
    sigma = (1 + response.resolution_scale) * np.array(response.nh_sigma_coefficients)
    return mean, sigma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT.name}")
    args = parser.parse_args()
    data = load_borexino_phase2()
    edges = np.arange(WINDOW[0], WINDOW[1] + 2) - 0.5
    best_fit = rebin(data.nh, borexino_best_fit(data), edges)
    solar = rebin(data.background_nh, data.solar_rate, edges) * data.exposure_day_100t
    results = {"best-fit": calibrate(best_fit, True, "best-fit"),
               "solar-curve": calibrate(solar, False, "solar-curve")}
    response, total, covariance, deviance, fitted = results["best-fit"]
    # the scale and the offset trade against each other: turn the scale about the N_h at
    # which the offset is uncorrelated with it (the offset becomes the shift there)
    pivot = float(np.round(-covariance[0, 1] / covariance[0, 0]))
    to_pivot = np.array([[1.0, 0.0, 0.0], [pivot, 1.0, 0.0], [0.0, 0.0, 1.0]])
    covariance = to_pivot @ covariance @ to_pivot.T
    other = to_pivot @ results["solar-curve"][1]
    systematic = np.abs(to_pivot @ total - other)
    sigma = np.sqrt(np.diag(covariance) + systematic**2)
    correlation = covariance / np.sqrt(np.outer(np.diag(covariance), np.diag(covariance)))
    print(f"pivot of the energy scale: N_h {pivot:.0f}; below, the offset o is the shift "
          "there (o + s x pivot)")
    print("calibration (s [fraction], o [N_h], r [fraction] relative to Coloma et al. 2022):")
    for label, (_, shifts, cov, dev, fit_values) in results.items():
        shifts, cov = to_pivot @ shifts, to_pivot @ cov @ to_pivot.T
        print(f"  {label}: s = {shifts[0]:+.5f} +- {np.sqrt(cov[0, 0]):.5f}, "
              f"o = {shifts[1]:+.3f} +- {np.sqrt(cov[1, 1]):.3f}, "
              f"r = {shifts[2]:+.4f} +- {np.sqrt(cov[2, 2]):.4f}; deviance {dev:.2f} for "
              f"{len(best_fit)} unit bins; 7Be flux {fit_values['flux_7be_cm2s']:.4g} "
              f"({fit_values['rate_7be_cpd100t']:.2f} cpd/100t), "
              f"pp {fit_values['flux_pp_cm2s']:.4g}")
    print("  correlation (best-fit):\n" + np.array2string(correlation, precision=3))
    print(f"  difference best-fit - solar-curve: {to_pivot @ total - other}")
    print(f"  uncertainty (statistical (+) |best-fit - solar-curve|): s {sigma[0]:.5f}, "
          f"o {sigma[1]:.3f}, r {sigma[2]:.4f}")
    mean, width = coefficients(response)
    print("  mean coefficients " + ", ".join(f"{c:.7g}" for c in mean))
    print("  width coefficients " + ", ".join(f"{c:.7g}" for c in width))
    if args.write:
        lines = [
            "# N_h response to an electron recoil of kinetic energy T [MeV], calibrated on "
            "Borexino's Phase-II best-fit spectrum (Nature 562, 505 (2018) Fig. 2a) by "
            "scripts/calibrate_response.py:",
            f"# the response of P. Coloma et al., JHEP 07 (2022) 138 with energy scale "
            f"{total[0]:+.5f}, offset {total[1]:+.3f} N_h, width scale {total[2]:+.4f} folded "
            f"in; nuisances about it: scale turning about N_h {pivot:.0f}, offset at that "
            f"N_h (1-sigma {sigma[0]:.5f}, {sigma[1]:.3f} N_h, {sigma[2]:.4f}; see "
            "borexino_phase2.md).",
            "# mean N_h(T) = sum_k coefficient T^k (nh_mean); Gaussian width sigma(N_h) = "
            "sum_k coefficient N_h^(k/2) (nh_sigma).",
            "quantity,power,coefficient",
            *(f"nh_mean,{k},{c:.7g}" for k, c in enumerate(mean)),
            *(f"nh_sigma,{k},{c:.7g}" for k, c in enumerate(width)),
            f"nh_pivot,0,{pivot:.0f}",
        ]
        OUTPUT.write_text("\n".join(lines) + "\n")
        print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
