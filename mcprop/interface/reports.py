"""``mcprop export`` and ``mcprop diagnose``: the limit curve of a run directory as CSV, JSON
or a HEPData table, and its per-mass convergence table.

Both read the run directory through :func:`mcprop.load` (every file checked); a malformed
file is reported in one line (:class:`UserError`) and nothing is written.
"""

import logging
import sys
from pathlib import Path

from mcprop.interface.api import ScanResult, load
from mcprop.interface.errors import UserError
from mcprop.interface.formats import write_output

log = logging.getLogger("mcprop")


def _missing(scan: ScanResult) -> list[str]:
    """'mass I (m = M MeV)' for every grid mass without a result."""
    done = {r.mass_index for r in scan.results}
    return [f"mass {i} (m = {m:.6g} MeV)" for i, m in enumerate(scan.masses_MeV)
            if i not in done]


def export_command(run_dir: Path, fmt: str, out: Path | None) -> int:
    """``mcprop export``: write the run's limits as csv, json or hepdata to ``out`` or stdout.

    Returns the exit code 0; bad input raises :class:`UserError`.
    """
    scan = load(run_dir)
    if not scan.results:
        raise UserError(f"{scan.run_dir}: no finished masses to export (results/ is empty)")
    missing = _missing(scan)
    if missing:
        log.warning("%s: incomplete run, exporting %d masses; no result for %s", scan.run_dir,
                    len(scan.results), ", ".join(missing))
    failed = [f"{r.m_zprime_MeV:.6g}" for r in scan.results if not r.converged]
    if failed:
        log.warning("%s: not converged at m = %s MeV (see 'mcprop diagnose')", scan.run_dir,
                    ", ".join(failed))
    if fmt == "hepdata-submission":
        if out is None:
            raise UserError("--format hepdata-submission: needs --out FOLDER (a new folder)")
        scan.to_hepdata(out)
        log.info("wrote the HEPData submission %s", out)
        return 0
    renderers = {"csv": scan.to_csv, "json": scan.to_json, "hepdata": scan.to_hepdata_table}
    if fmt not in renderers:
        raise UserError(f"--format: unknown format {fmt!r} (choose {', '.join(renderers)})")
    text = renderers[fmt]()
    if out is None:
        sys.stdout.write(text)
        return 0
    write_output(out, text)
    log.info("wrote %s", out)
    return 0


HEADER = (f"{'m_zprime_MeV':>12} {'g_upper':>11} {'MCSE':>10} {'MCSE_%':>7} {'ESS':>7} "
          f"{'R-hat':>7} {'tau_steps':>9} {'accept':>7} {'n_steps':>7}  converged")


def _number(value, spec: str, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{spec}}"


def diagnose_row(result) -> str:
    """One line of the convergence table for one mass."""
    g, mcse = result.g_upper, result.g_upper_mcse
    percent = None if g is None or mcse is None or g == 0 else 100 * mcse / g
    return (f"{result.m_zprime_MeV:>12.6g} {_number(g, '.4e', 11)} {_number(mcse, '.3e', 10)} "
            f"{_number(percent, '.2f', 6)}% {_number(result.ess, '.0f', 7)} "
            f"{_number(result.rhat, '.4f', 7)} {_number(result.tau_steps, '.1f', 9)} "
            f"{_number(result.acceptance, '.3f', 7)} {result.n_steps:>7d}  "
            f"{'yes' if result.converged else 'NO'}")


def diagnose_report(scan: ScanResult) -> tuple[str, bool]:
    """The convergence table, problems, missing masses and a summary line; and whether
    every grid mass has a converged result."""
    missing = _missing(scan)
    lines = [HEADER, *map(diagnose_row, scan.results)]
    failed = [r for r in scan.results if not r.converged]
    if failed:
        lines.append("problems:")
        lines += [f"  m = {r.m_zprime_MeV:.6g} MeV (mass {r.mass_index}): "
                  f"{'; '.join(r.problems) or 'no problem recorded'}" for r in failed]
    if missing:
        lines.append("missing (no result):")
        lines += [f"  {entry}" for entry in missing]
    summary = (f"{scan.name}: {len(scan.results) - len(failed)}/{len(scan.masses_MeV)} "
               f"masses converged")
    if failed:
        summary += f", {len(failed)} not converged"
    if missing:
        summary += f", {len(missing)} missing (incomplete run; continue it with --resume)"
    lines.append(summary)
    return "\n".join(lines) + "\n", not failed and not missing


def diagnose_command(run_dir: Path) -> int:
    """``mcprop diagnose``: print the per-mass convergence table of a run directory.

    Returns 0 if every mass has a converged result, 1 otherwise.
    """
    text, ok = diagnose_report(load(run_dir))
    sys.stdout.write(text)
    return 0 if ok else 1
