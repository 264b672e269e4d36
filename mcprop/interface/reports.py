"""What ``mcprop export`` and ``mcprop diagnose`` report about a run: the grid points
without a result, those that did not converge, and the convergence table (per mass; per
moment for a magnetic-moment run; per parameter for a Standard-Model fit).

>>> print(table_header(TABLE_KEYS["LIMIT"]).split()[0])
m_zprime_MeV
"""


from mcprop.files import printable
from mcprop.interface.result import ScanResult


def missing_points(scan: ScanResult) -> list[str]:
    """'mass I (m = M MeV)' for every grid mass without a result ('the posterior' for a run
    without masses)."""
    done = {r.point_index for r in scan.results}
    if not scan.has_masses:
        return [] if done else ["the one posterior of the run"]
    return [f"mass {i} (m = {m:.6g} MeV)" for i, m in enumerate(scan.masses_MeV)
            if i not in done]


def unconverged(scan: ScanResult) -> list[str]:
    """The masses (MeV), the moments or the fitted parameters that did not converge."""
    if not scan.has_masses:
        return [row["parameter"] for row in scan.rows() if not row["converged"]]
    return [f"m = {r.m_zprime_MeV:.6g} MeV" for r in scan.results if not r.converged]


#: Columns of limits.csv that head the convergence table: the row, the number and its MC
#: error, of a Z' run (one row per mass), a magnetic-moment run (one row per moment) and a
#: Standard-Model fit (one row per parameter: the median).
TABLE_KEYS = {"LIMIT": ("m_zprime_MeV", "g_upper", "g_upper_mcse"),
              "MOMENT": ("parameter", "upper_muB", "upper_mcse_muB"),
              "FIT": ("parameter", "median", "median_mcse")}


def _table_keys(scan: ScanResult) -> tuple[str, str, str]:
    return next(keys for keys in TABLE_KEYS.values() if keys[1] in scan.columns)


def table_header(keys: tuple[str, str, str]) -> str:
    first, number, _ = keys
    return (f"{first:>22} {number:>11} {'MCSE':>10} {'MCSE_%':>7} {'ESS':>7} "
            f"{'R-hat':>7} {'tau_steps':>9} {'accept':>7} {'n_steps':>7}  converged")


def _number(value, spec: str, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{spec}}"


def diagnose_row(row: dict, keys: tuple[str, str, str] = TABLE_KEYS["LIMIT"]) -> str:
    """One line of the convergence table for one row of limits.csv (a mass, a moment or a
    fitted parameter)."""
    first_key, limit_key, mcse_key = keys
    limit, mcse = row[limit_key], row[mcse_key]
    percent = None if limit is None or mcse is None or limit == 0 else 100 * mcse / abs(limit)
    first = row[first_key]
    first = f"{first:>22.6g}" if isinstance(first, float) else f"{first:>22}"
    return (f"{first} {_number(limit, '.4e', 11)} {_number(mcse, '.3e', 10)} "
            f"{_number(percent, '.2f', 6)}% {_number(row['ess'], '.0f', 7)} "
            f"{_number(row['rhat'], '.4f', 7)} {_number(row['tau_steps'], '.1f', 9)} "
            f"{_number(row['acceptance'], '.3f', 7)} {row['n_steps']:>7d}  "
            f"{'yes' if row['converged'] else 'NO'}")


def diagnose_report(scan: ScanResult) -> tuple[str, bool]:
    """The convergence table, problems, missing points and a summary line; and whether
    every grid point has a converged result."""
    missing = missing_points(scan)
    rows = scan.rows()
    keys = _table_keys(scan)
    lines = [table_header(keys), *(diagnose_row(row, keys) for row in rows)]
    failed = [r for r in scan.results if not r.converged]
    if failed:
        lines.append("problems:")
        lines += [f"  {r.label()} ({'mass' if scan.has_masses else 'point'} "
                  f"{r.point_index}): {'; '.join(r.problems) or 'no problem recorded'}"
                  for r in failed]
    if missing:
        lines.append("missing (no result):")
        lines += [f"  {entry}" for entry in missing]
    if not scan.has_masses:
        n_failed = sum(not row["converged"] for row in rows)
        what = "fitted parameters" if scan.is_fit else "moment limits"
        summary = (f"{scan.name}: {len(rows) - n_failed}/{len(rows)} {what} converged"
                   + (f", {n_failed} not converged" if n_failed else "")
                   + (" (no result yet; continue the run with --resume)" if missing else ""))
        lines.append(summary)
        return _report(lines), not failed and not missing
    summary = (f"{scan.name}: {len(scan.results) - len(failed)}/{len(scan.masses_MeV)} "
               f"masses converged")
    if failed:
        summary += f", {len(failed)} not converged"
    if missing:
        summary += f", {len(missing)} missing (incomplete run; continue it with --resume)"
    lines.append(summary)
    return _report(lines), not failed and not missing


def _report(lines: list[str]) -> str:
    """The lines as printed: each one line, control characters escaped (names and problems
    come from files a user may have edited)."""
    return "".join(printable(line) + "\n" for line in lines)
