"""The output formats of a limit curve: CSV, JSON and a HEPData table, defined once.

Every format holds only finite numbers: a quantity that could not be computed is an empty
CSV field, a JSON null or a HEPData "-", with the reason in the result's ``problems``.
"""

import contextlib
import csv
import io
import logging
import os
import re
import tempfile
from pathlib import Path

from mcprop import files
from mcprop.errors import OutputError
from mcprop.files import atomic_write_text
from mcprop.inference.results import LIMIT_COLUMNS

log = logging.getLogger(__name__)

#: Name and units of the HEPData independent variable; name and file of the table.
HEPDATA_MASS = {"name": "$m_{Z'}$", "units": "MeV"}
HEPDATA_TABLE = "Upper limits on g versus m_Z'"
HEPDATA_FILE = "upper_limits_on_g_versus_m_z'.yaml"


def comment_line(text: str) -> str:
    """A provenance line made safe for a '#' comment: control characters become spaces."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)


def csv_text(provenance: list[str], rows: list[dict],
             columns: tuple[str, ...] = LIMIT_COLUMNS) -> str:
    """limits.csv: '#' provenance lines, a header, one row per mass (per moment for a
    magnetic-moment run, with its ``columns``), floats as repr."""
    buffer = io.StringIO()
    for line in provenance:
        buffer.write(f"# {comment_line(line)}\n")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v
                         for k, v in row.items()})
    return buffer.getvalue()


def json_text(provenance: list[str], rows: list[dict],
              columns: tuple[str, ...] = LIMIT_COLUMNS) -> str:
    """limits.json: {"provenance": [...], "columns": [...], "limits": [rows]}, strict JSON."""
    document = {"provenance": provenance, "columns": list(columns), "limits": rows}
    return files.json_text(document)


def hepdata_table(provenance: list[str], config: dict, rows: list[dict]):
    """The limit curve as a ``hepdata_lib.Table``: g_90 (with its MC error) and the profile
    limit versus m_Z'.

    The independent variable is the Z' mass [MeV]; the dependent variables are the Bayesian
    credible upper limit on g (dimensionless) with its Monte Carlo standard error as a
    symmetric uncertainty labelled "MC", and, when the run computed it, the
    profile-likelihood upper limit. A value that could not be computed is "-".
    """
    from hepdata_lib import Table, Uncertainty, Variable

    table = Table(HEPDATA_TABLE)
    table.description = " ".join(comment_line(line) for line in provenance[:2])
    table.location = "mcprop limit curve (limit_curve.png)"
    table.keywords["observables"] = ["UL"]
    table.keywords["phrases"] = ["Z' boson", "solar neutrinos", "Borexino"]
    mass = Variable(HEPDATA_MASS["name"], is_independent=True, is_binned=False,
                    units=HEPDATA_MASS["units"])
    mass.values = [row["m_zprime_MeV"] for row in rows]
    table.add_variable(mass)

    def dependent(name, key, method):
        variable = Variable(name, is_independent=False, is_binned=False, units="")
        variable.values = ["-" if row[key] is None else row[key] for row in rows]
        for label, value in (("CL", f"{100 * config['limits']['credibility']:g}%"),
                             ("model", config["physics"]["model"]),
                             ("flavour model", config["physics"]["flavour_model"]),
                             ("data", "; ".join(f"{m['name']} ({m['source']})"
                                                for m in config["measurements"])),
                             ("method", method)):
            variable.add_qualifier(label, value)
        return variable

    bayesian = dependent("$g_{Z'}$ upper limit", "g_upper", "Bayesian credible limit (MCMC)")
    bayesian.add_qualifier("prior on g", config["coupling_prior"]["kind"])
    mc = Uncertainty("MC", is_symmetric=True)
    mc.values = [row["g_upper_mcse"] or 0.0 for row in rows]
    bayesian.add_uncertainty(mc)
    table.add_variable(bayesian)
    if any(row["g_upper_profile"] is not None for row in rows):
        table.add_variable(dependent("$g_{Z'}$ upper limit (profile likelihood)",
                                     "g_upper_profile", "profile likelihood"))
    if rows and "g_expected_median" in rows[0]:
        table.add_variable(_expected_variable(dependent, config, rows))
    return table


def _expected_variable(dependent, config: dict, rows: list[dict]):
    """The median expected limit with its 68% and 95% ranges as asymmetric uncertainties
    "1 sigma" and "2 sigma" (the HEPData convention of expected limits)."""
    from hepdata_lib import Uncertainty

    expected = config["expected"]
    spectral = any(m["kind"] == "spectrum" for m in config["measurements"])
    limit = "profile-likelihood limit" if spectral else "credible limit"
    variable = dependent("$g_{Z'}$ expected upper limit", "g_expected_median",
                         f"median {limit} of {expected['n_toys']} Standard-Model "
                         f"pseudo-experiments (truth nuisances: {expected['draw']})")
    for label, level in (("1 sigma", 68), ("2 sigma", 95)):
        band = Uncertainty(label, is_symmetric=False)
        keys = ("g_expected_median", f"g_expected_lo{level}", f"g_expected_hi{level}")
        band.values = [(0.0, 0.0) if any(row[key] is None for key in keys)
                       else (row[f"g_expected_lo{level}"] - row["g_expected_median"],
                             row[f"g_expected_hi{level}"] - row["g_expected_median"])
                       for row in rows]
        variable.add_uncertainty(band)
    return variable


def hepdata_text(provenance: list[str], config: dict, rows: list[dict]) -> str:
    """The HEPData table as YAML (hepdata_lib's), the provenance as leading '#' comments."""
    with tempfile.TemporaryDirectory() as folder, _quiet():
        hepdata_table(provenance, config, rows).write_yaml(folder)
        text = (Path(folder) / HEPDATA_FILE).read_text()
    comments = "".join(f"# {comment_line(line)}\n" for line in provenance)
    return comments + text


def hepdata_submission(provenance: list[str], config: dict, rows: list[dict],
                       directory: Path, plot: Path | None = None) -> Path:
    """A HEPData submission (submission.yaml, the table, the limit-curve plot), made and
    validated by hepdata_lib, in ``directory`` (created; OutputError if it exists)."""
    from hepdata_lib import Submission

    directory = Path(os.path.abspath(directory))  # the staging below changes the folder
    if os.path.lexists(directory):
        raise OutputError(f"{directory}: exists; the HEPData submission needs a new folder")
    if not directory.parent.is_dir():
        raise OutputError(f"{directory}: the folder {directory.parent} does not exist")
    submission = Submission()
    submission.comment = " ".join(comment_line(line) for line in provenance)
    submission.add_table(hepdata_table(provenance, config, rows))
    if plot is not None and plot.is_file():
        submission.add_additional_resource("limit curve (mcprop plot)", str(plot),
                                           copy_file=True)
    with tempfile.TemporaryDirectory(dir=directory.parent) as staging, _quiet(), \
            contextlib.chdir(staging):  # hepdata_lib writes its tarball into the working folder
        submission.create_files("submission", validate=True)
        os.replace("submission.tar.gz", "submission/submission.tar.gz")
        os.replace("submission", directory)
    return directory


@contextlib.contextmanager
def _quiet():
    """hepdata_lib prints notes on standard output: keep them off the export."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    for line in buffer.getvalue().splitlines():
        log.debug("hepdata_lib: %s", line)


def check_output(path: Path, run_dir: Path | None = None, new_folder: bool = False,
                 default: str = "standard output") -> None:
    """OutputError unless an output may be written at ``path``: nothing there, or a regular
    file (never a symlink, which would be replaced, nor a device such as /dev/stdout: the
    ``default`` output is had by leaving --out out), and not inside the run directory
    ``run_dir`` being read. A ``new_folder`` (a HEPData submission) is checked when made."""
    if path.is_symlink():
        raise OutputError(f"{path}: cannot write: a symlink (mcprop never replaces one; leave "
                          f"--out out to write to {default})")
    if not new_folder and path.exists() and not path.is_file():
        raise OutputError(f"{path}: cannot write: not a regular file (mcprop replaces only a "
                          f"file; leave --out out to write to {default})")
    if run_dir is not None:
        folder, run = Path(os.path.abspath(path)).parent.resolve(), run_dir.resolve()
        if folder == run or run in folder.parents:
            raise OutputError(f"{path}: inside the run directory {run_dir} being exported; "
                              f"write the export elsewhere")


def write_output(path: Path, text: str) -> None:
    """Write an export atomically; OutputError if it cannot be written."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
