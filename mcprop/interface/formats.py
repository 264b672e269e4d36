"""The output formats of a limit curve: CSV, JSON and a HEPData table, defined once.

Every format holds only finite numbers: a quantity that could not be computed is an empty
CSV field, a JSON null or a HEPData "-", with the reason in the result's ``problems``.
"""

import csv
import io
import json
import re
from pathlib import Path

import yaml

from mcprop.inference.results import LIMIT_COLUMNS
from mcprop.inference.storage import atomic_write_text
from mcprop.interface.errors import UserError

#: Name and units of the HEPData independent variable.
HEPDATA_MASS = {"name": "$m_{Z'}$", "units": "MeV"}


def comment_line(text: str) -> str:
    """A provenance line made safe for a '#' comment: control characters become spaces."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)


def csv_text(provenance: list[str], rows: list[dict]) -> str:
    """limits.csv: '#' provenance lines, a header, one row per mass (floats as repr)."""
    buffer = io.StringIO()
    for line in provenance:
        buffer.write(f"# {comment_line(line)}\n")
    writer = csv.DictWriter(buffer, fieldnames=LIMIT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v
                         for k, v in row.items()})
    return buffer.getvalue()


def json_text(provenance: list[str], rows: list[dict]) -> str:
    """limits.json: {"provenance": [...], "columns": [...], "limits": [rows]}, strict JSON."""
    document = {"provenance": provenance, "columns": list(LIMIT_COLUMNS), "limits": rows}
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


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

    def value(row, key):
        return "-" if row[key] is None else row[key]

    bayesian = {
        "header": {"name": "$g_{Z'}$ upper limit"},
        "qualifiers": [*qualifiers("Bayesian credible limit (MCMC)"),
                       {"name": "prior on g", "value": config["coupling_prior"]["kind"]}],
        "values": [{"value": value(row, "g_upper"),
                    **({"errors": [{"symerror": row["g_upper_mcse"], "label": "MC"}]}
                       if row["g_upper_mcse"] is not None else {})}
                   for row in rows],
    }
    dependent = [bayesian]
    if any(row["g_upper_profile"] is not None for row in rows):
        dependent.append({
            "header": {"name": "$g_{Z'}$ upper limit (profile likelihood)"},
            "qualifiers": qualifiers("profile likelihood"),
            "values": [{"value": value(row, "g_upper_profile")} for row in rows],
        })
    return {"independent_variables": [{"header": dict(HEPDATA_MASS),
                                       "values": [{"value": row["m_zprime_MeV"]}
                                                  for row in rows]}],
            "dependent_variables": dependent}


def hepdata_text(provenance: list[str], config: dict, rows: list[dict]) -> str:
    """The HEPData table as YAML, with the provenance as leading '#' comments."""
    comments = "".join(f"# {comment_line(line)}\n" for line in provenance)
    return comments + yaml.safe_dump(hepdata_table(config, rows), sort_keys=False,
                                     allow_unicode=True, width=100)


def write_output(path: Path, text: str) -> None:
    """Write an export atomically; UserError if it cannot be written."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None
