"""``mcprop export`` and ``mcprop diagnose``: the limit curve of a run directory as CSV, JSON
or a HEPData table, and its per-mass convergence table.

Both read only the run directory (``config.toml``, ``manifest.json``, ``results/*.json``);
a malformed file is reported in one line (:class:`UserError`) and nothing is written.
"""

import logging
import sys
from pathlib import Path

import yaml

from mcprop.inference.storage import atomic_write_text
from mcprop.interface.config import mass_grid_MeV
from mcprop.interface.errors import UserError
from mcprop.interface.store import (
    RunDirectory,
    csv_text,
    json_text,
    limit_rows,
    read_config,
)

log = logging.getLogger("mcprop")

#: Keys of the stored config that the reports read, as dotted paths.
CONFIG_KEYS = ("name", "measurements", "physics.model", "physics.flavour_model",
               "physics.interference", "priors.files", "mass_grid.mass_min_MeV",
               "mass_grid.mass_max_MeV", "coupling_prior.kind",
               "coupling_prior.upper_np_fraction", "limits.credibility", "sampler.seed")
#: Result keys the reports read, with their allowed types (int is allowed for a float).
RESULT_TYPES = {"m_zprime_MeV": (int, float), "g_upper": (int, float),
                "g_upper_mcse": (int, float), "g_upper_profile": (int, float, type(None)),
                "ess": (int, float), "rhat": (int, float), "tau_steps": (int, float),
                "acceptance": (int, float), "n_steps": (int,), "burn_in": (int,),
                "converged": (bool,), "problems": (list,)}
#: Name and units of the HEPData independent variable.
HEPDATA_MASS = {"name": "$m_{Z'}$", "units": "MeV"}


# --- reading a run directory -------------------------------------------------------------

def _stored_config(run: RunDirectory) -> dict:
    """The run's resolved config, checked for the keys the reports read."""
    config = read_config(run)
    for dotted in CONFIG_KEYS:
        value = config
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                raise UserError(f"{run.config_file}: {dotted}: missing from the resolved config")
            value = value[part]
    measurements = config["measurements"]
    if not isinstance(measurements, list) or not all(
            isinstance(m, dict) and isinstance(m.get("name"), str)
            and isinstance(m.get("source"), str) for m in measurements):
        raise UserError(f"{run.config_file}: measurements: must be tables with a name and "
                        f"a source")
    return config


def _checked_results(run: RunDirectory) -> list[dict]:
    """Finished results in grid order, each checked for the keys and types reports read."""
    results = run.results()
    for result in results:
        index = result.get("mass_index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise UserError(f"{run.root / 'results'}: a result has no integer mass_index "
                            f"(got {index!r})")
        path = run.files_for(index).result
        for key, types in RESULT_TYPES.items():
            if key not in result:
                raise UserError(f"{path}: {key}: missing from the result")
            value = result[key]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise UserError(f"{path}: {key}: unexpected value {value!r}")
    return results


def _n_masses(run: RunDirectory) -> int:
    """Number of grid masses the run was started with (manifest ``n_masses``)."""
    manifest = run.manifest()
    count = manifest.get("n_masses") if isinstance(manifest, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"{run.manifest_file}: n_masses: must be a positive integer, "
                        f"got {count!r}")
    return count


def _missing(results: list[dict], n_masses: int, config: dict) -> list[str]:
    """'mass I (m = M MeV)' for every grid mass without a result."""
    grid = config["mass_grid"]
    masses = mass_grid_MeV(grid["mass_min_MeV"], grid["mass_max_MeV"], n_masses)
    done = {r["mass_index"] for r in results}
    return [f"mass {i} (m = {masses[i]:.6g} MeV)" for i in range(n_masses) if i not in done]


# --- export ------------------------------------------------------------------------------

def hepdata_table(config: dict, rows: list[dict]) -> dict:
    """A HEPData data table: g_90 (with its MC error) and the profile limit versus m_Z'.

    The independent variable is the Z' mass [MeV]; the dependent variables are the Bayesian
    credible upper limit on g (dimensionless) with its Monte Carlo standard error as a
    symmetric uncertainty labelled "MC", and, when the run computed it, the
    profile-likelihood upper limit.
    """
    def qualifiers(method: str) -> list[dict]:
        return [{"name": "CL", "value": f"{100 * config['limits']['credibility']:g}%"},
                {"name": "model", "value": config["physics"]["model"]},
                {"name": "flavour model", "value": config["physics"]["flavour_model"]},
                {"name": "data", "value": "; ".join(f"{m['name']} ({m['source']})"
                                                    for m in config["measurements"])},
                {"name": "method", "value": method}]

    bayesian = {
        "header": {"name": "$g_{Z'}$ upper limit"},
        "qualifiers": [*qualifiers("Bayesian credible limit (MCMC)"),
                       {"name": "prior on g", "value": config["coupling_prior"]["kind"]}],
        "values": [{"value": row["g_upper"],
                    "errors": [{"symerror": row["g_upper_mcse"], "label": "MC"}]}
                   for row in rows],
    }
    dependent = [bayesian]
    if any(row["g_upper_profile"] is not None for row in rows):
        dependent.append({
            "header": {"name": "$g_{Z'}$ upper limit (profile likelihood)"},
            "qualifiers": qualifiers("profile likelihood"),
            "values": [{"value": "-" if row["g_upper_profile"] is None
                        else row["g_upper_profile"]} for row in rows],
        })
    return {"independent_variables": [{"header": dict(HEPDATA_MASS),
                                       "values": [{"value": row["m_zprime_MeV"]}
                                                  for row in rows]}],
            "dependent_variables": dependent}


def hepdata_text(provenance: list[str], config: dict, rows: list[dict]) -> str:
    """The HEPData table as YAML, with the provenance as leading '#' comments."""
    comments = "".join(f"# {line}\n" for line in provenance)
    return comments + yaml.safe_dump(hepdata_table(config, rows), sort_keys=False,
                                     allow_unicode=True, width=100)


def export_command(run_dir: Path, fmt: str, out: Path | None) -> int:
    """``mcprop export``: write the run's limits as csv, json or hepdata to ``out`` or stdout.

    Parameters
    ----------
    run_dir : Path
        Run directory.
    fmt : str
        "csv", "json" or "hepdata".
    out : Path or None
        Output file, written atomically; standard output when None.

    Returns
    -------
    int
        Exit code 0. Bad input raises :class:`UserError`.
    """
    run = RunDirectory.open(run_dir)
    config = _stored_config(run)
    results = _checked_results(run)
    if not results:
        raise UserError(f"{run.root}: no finished masses to export (results/ is empty)")
    missing = _missing(results, _n_masses(run), config)
    if missing:
        log.warning("%s: incomplete run, exporting %d masses; no result for %s", run.root,
                    len(results), ", ".join(missing))
    failed = [f"{r['m_zprime_MeV']:.6g}" for r in results if not r["converged"]]
    if failed:
        log.warning("%s: not converged at m = %s MeV (see 'mcprop diagnose')", run.root,
                    ", ".join(failed))
    provenance = run.provenance_lines(config)
    rows = limit_rows(results)
    renderers = {"csv": lambda: csv_text(provenance, rows),
                 "json": lambda: json_text(provenance, rows),
                 "hepdata": lambda: hepdata_text(provenance, config, rows)}
    if fmt not in renderers:
        raise UserError(f"--format: unknown format {fmt!r} (choose {', '.join(renderers)})")
    text = renderers[fmt]()
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        raise UserError(f"{out}: cannot write the export ({exc.strerror or exc})") from None
    log.info("wrote %s", out)
    return 0


# --- diagnose ----------------------------------------------------------------------------

HEADER = (f"{'m_zprime_MeV':>12} {'g_upper':>11} {'MCSE':>10} {'MCSE_%':>7} {'ESS':>7} "
          f"{'R-hat':>7} {'tau_steps':>9} {'accept':>7} {'n_steps':>7}  converged")


def diagnose_row(result: dict) -> str:
    """One line of the convergence table for one mass."""
    g, mcse = result["g_upper"], result["g_upper_mcse"]
    percent = 100 * mcse / g if g else float("nan")
    return (f"{result['m_zprime_MeV']:>12.6g} {g:>11.4e} {mcse:>10.3e} {percent:>6.2f}% "
            f"{result['ess']:>7.0f} {result['rhat']:>7.4f} {result['tau_steps']:>9.1f} "
            f"{result['acceptance']:>7.3f} {result['n_steps']:>7d}  "
            f"{'yes' if result['converged'] else 'NO'}")


def diagnose_report(name: str, results: list[dict], missing: list[str]) -> tuple[str, bool]:
    """The convergence table, problems, missing masses and a summary line.

    Returns
    -------
    text : str
        The report, ending with a newline.
    ok : bool
        True when every grid mass has a converged result.
    """
    lines = [HEADER, *map(diagnose_row, results)]
    failed = [r for r in results if not r["converged"]]
    if failed:
        lines.append("problems:")
        lines += [f"  m = {r['m_zprime_MeV']:.6g} MeV (mass {r['mass_index']}): "
                  f"{'; '.join(map(str, r['problems'])) or 'no problem recorded'}"
                  for r in failed]
    if missing:
        lines.append("missing (no result):")
        lines += [f"  {entry}" for entry in missing]
    n_total = len(results) + len(missing)
    summary = f"{name}: {len(results) - len(failed)}/{n_total} masses converged"
    if failed:
        summary += f", {len(failed)} not converged"
    if missing:
        summary += f", {len(missing)} missing (incomplete run; continue it with --resume)"
    lines.append(summary)
    return "\n".join(lines) + "\n", not failed and not missing


def diagnose_command(run_dir: Path) -> int:
    """``mcprop diagnose``: print the per-mass convergence table of a run directory.

    Returns
    -------
    int
        0 if every mass has a converged result, 1 if a mass did not converge or has no
        result yet. Bad input raises :class:`UserError`.
    """
    run = RunDirectory.open(run_dir)
    config = _stored_config(run)
    results = _checked_results(run)
    missing = _missing(results, _n_masses(run), config)
    text, ok = diagnose_report(config["name"], results, missing)
    sys.stdout.write(text)
    return 0 if ok else 1
