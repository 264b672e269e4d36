"""The provenance of a run's limits: what the numbers are and where they come from, as the
'#' lines of limits.csv and the provenance of every export.

>>> model_label("Lmu-Ltau")
'L_mu - L_tau'
"""

import re
from pathlib import Path

from mcprop import __version__


def model_label(model: str) -> str:
    """Readable name of a U(1)' model: 'Lmu-Ltau' -> 'L_mu - L_tau', 'B-L' -> 'B - L'."""
    return " - ".join(re.sub(r"^L(e|mu|tau)$", r"L_\1", part) for part in model.split("-"))


def provenance_lines(scan) -> list[str]:
    """What the numbers of ``scan`` (a :class:`~mcprop.interface.result.ScanResult`) are and
    where they come from: the '#' lines of limits.csv and the provenance of every export."""
    c = scan.config
    measurements = "; ".join(f"{m['name']} ({m['source']})" for m in c["measurements"])
    physics = c["physics"]
    correlations = [f"systematic correlation {k['systematic_correlation']} between "
                    f"{' and '.join(k['measurements'])} ({k['source']})"
                    for k in c.get("correlations", [])]
    if scan.is_fit:
        return [f"mcprop {__version__}: Standard-Model fit (no new physics): posterior "
                f"medians and central 68% credible intervals",
                f"run: {c['name']}",
                f"flavour model: {physics['flavour_model']}; radiative corrections: "
                f"{physics.get('radiative_corrections', False)}",
                f"data: {measurements}",
                f"priors: {', '.join(Path(p).name for p in c['priors']['files'])}"
                + (f"; held at their prior centres: {', '.join(c['priors']['fixed'])}"
                   if c["priors"].get("fixed") else ""),
                *(f"goodness of fit at the best fit, {name}: Poisson deviance "
                  f"{v['deviance']:.1f} for {v['n_bins']} bins"
                  + (f" (best walker {v['deviance_best_walker']:.1f})"
                     if "deviance_best_walker" in v else "")
                  + (f"; the experiment's own best-fit model on the same bins: "
                     f"{v['reference_deviance']:.1f}" if "reference_deviance" in v else "")
                  for r in scan.results for name, v in r.goodness_of_fit.items()),
                f"seed: {scan.seed}; config hash: {scan.config_hash}",
                "columns: parameter (its unit in its name: _cm2s = cm^-2 s^-1, "
                "_cpd100t = counts per day per 100 t, _norm = multiple of Borexino's fitted "
                "background, nh_ = N_h response); median, lo68, hi68, median_mcse in that "
                "unit; tau_steps, n_steps, burn_in [steps]"]
    cp = c["coupling_prior"]
    prior = cp["kind"] + (f" (floor g = {cp['floor_g']:g})" if cp.get("floor_g") else "")
    if not scan.has_masses:
        spectral = next(m["kind"] for m in c["measurements"]
                        if m["kind"] != "survival-probability") == "spectrum"
        if spectral:
            bound = "SM solar counts of the spectrum"
            average = ("the solar neutrinos of the first spectrum (its probability "
                       "nodes, weighted by their EM counts)")
        else:
            bound = "SM window rate"
            average = ("the lines of the first rate measurement (weighted by their EM "
                       "window counts)")
        return [f"mcprop {__version__}: Bayesian upper limits on flavour-diagonal "
                f"neutrino magnetic moments ({physics['moments']})",
                f"run: {c['name']}",
                f"credibility: {c['limits']['credibility']}",
                f"prior on each sampled mu_a^2: {cp['kind']} (flat in mu^2 >= 0, i.e. "
                f"flat in the added rate), upper bound where that moment alone adds "
                f"{cp['upper_np_fraction']:g} x the {bound}",
                f"mu_eff = sqrt(sum_a P_ea mu_a^2), P_ea averaged over {average}",
                f"flavour model: {physics['flavour_model']}; radiative corrections: "
                f"{physics.get('radiative_corrections', False)}",
                f"data: {measurements}", *correlations,
                f"priors: {', '.join(Path(p).name for p in c['priors']['files'])}",
                *expected_provenance(scan),
                f"seed: {scan.seed}; config hash: {scan.config_hash}",
                "columns: parameter; upper_muB, upper_mcse_muB, upper_profile_muB (the "
                f"profile-likelihood limit, -2 Delta ln L = "
                f"{c['limits']['profile_delta_chi2']:g}; one moment) [Bohr magnetons]; "
                "tau_steps, n_steps, burn_in [steps]"]
    return [f"mcprop {__version__}: Bayesian upper limits on the "
            f"{model_label(physics['model'])} Z' coupling g",
            f"run: {c['name']}",
            f"credibility: {c['limits']['credibility']}",
            f"prior on g: {prior}, upper bound at {cp['upper_np_fraction']:g} x SM rate",
            f"flavour model: {physics['flavour_model']}; interference: "
            f"{physics['interference']}; radiative corrections: "
            f"{physics.get('radiative_corrections', False)}",
            f"data: {measurements}", *correlations,
            f"priors: {', '.join(Path(p).name for p in c['priors']['files'])}",
            *expected_provenance(scan),
            f"seed: {scan.seed}; config hash: {scan.config_hash}",
            "columns: m_zprime_MeV [MeV]; g_upper, g_upper_mcse, g_upper_profile "
            + ("and g_expected_* " if scan.has_expected else "")
            + "[dimensionless]; tau_steps, n_steps, burn_in [steps]"]


def expected_provenance(scan) -> list[str]:
    """What the expected limits are (a provenance line), if the run has them."""
    if not scan.has_expected:
        return []
    e = scan.config["expected"]
    if scan.expected_statistic == "profile":
        level = scan.config["limits"]["profile_delta_chi2"]
        if any(m["kind"] == "spectrum" for m in scan.config["measurements"]):
            toys = ("pseudo-spectra (Poisson counts around the constrained fit of the data "
                    "with no new physics)")
        else:
            toys = (f"pseudo-experiments (truth nuisances: {e['draw']}; each measurement "
                    f"drawn with its own errors)")
        others = (", each moment with the others profiled"
                  if scan.config["physics"].get("moments") == "independent" else "")
        return [f"expected limits (expected_statistic: profile): profile-likelihood "
                f"limits (-2 Delta ln L = {level:g}{others}) of {e['n_toys']} "
                f"Standard-Model {toys}, their median and central 68% and 95% "
                f"ranges; the Asimov column: the profile limit of the expected data"]
    return [f"expected limits (expected_statistic: credible): credible limits of "
            f"{e['n_toys']} Standard-Model "
            f"pseudo-experiments (truth nuisances: {e['draw']}; each measurement drawn "
            f"with its own errors), their median and central 68% and 95% ranges; "
            f"g_expected_asimov: the limit of data at the SM prediction at the prior "
            f"centres"]
