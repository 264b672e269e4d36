"""`mcprop export` and `mcprop diagnose` on a finished run, driven as a user would."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import yaml
from hepdata_validator.data_file_validator import DataFileValidator

from mcprop.inference.results import LIMIT_COLUMNS

INTEGER_COLUMNS = {"n_steps", "burn_in"}


def limits_json(run_dir):
    return json.loads((run_dir / "limits.json").read_text())


def results(run_dir):
    files = sorted((run_dir / "results").glob("m*.json"))
    return [json.loads(path.read_text()) for path in files]


def parse_cell(column, text):
    """A CSV cell back to the value limits.json holds."""
    if text == "":
        return None
    if column == "converged":
        assert text in ("True", "False"), text
        return text == "True"
    return int(text) if column in INTEGER_COLUMNS else float(text)


def test_export_csv_round_trips_to_limits_json(cli, tiny_run):
    out = cli("export", tiny_run, "--format", "csv")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert lines[:len(comments)] == comments, "comment lines must come first"
    expected = limits_json(tiny_run)
    assert [line[2:] for line in comments] == expected["provenance"]
    assert any("credibility: 0.9" in line for line in comments)
    reader = csv.DictReader(io.StringIO("\n".join(lines[len(comments):])))
    assert tuple(reader.fieldnames) == LIMIT_COLUMNS
    assert reader.fieldnames[0] == "m_zprime_MeV"
    rows = [{k: parse_cell(k, v) for k, v in row.items()} for row in reader]
    assert rows == expected["limits"]
    assert len(rows) == 3


def test_export_csv_matches_the_run_limits_file(cli, tiny_run):
    out = cli("export", tiny_run, "--format", "csv")
    assert out.stdout == (tiny_run / "limits.csv").read_text()


def test_export_json_equals_limits_json(cli, tiny_run):
    out = cli("export", tiny_run, "--format", "json")
    assert out.returncode == 0, out.stderr
    exported = json.loads(out.stdout)
    assert exported == limits_json(tiny_run)
    assert exported["columns"] == list(LIMIT_COLUMNS)
    for row, result in zip(exported["limits"], results(tiny_run), strict=True):
        assert row == {k: result[k] for k in LIMIT_COLUMNS}


def test_export_hepdata_is_a_valid_table(cli, tiny_run, tmp_path):
    target = tmp_path / "g90.yaml"
    out = cli("export", tiny_run, "--format", "hepdata", "--out", target)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    table = yaml.safe_load(target.read_text())
    expected = results(tiny_run)

    (mass,) = table["independent_variables"]
    assert mass["header"] == {"name": "$m_{Z'}$", "units": "MeV"}
    # hepdata_lib keeps 5 significant digits, far below the MC errors
    np.testing.assert_allclose([v["value"] for v in mass["values"]],
                               [r["m_zprime_MeV"] for r in expected], rtol=1e-4)

    bayes, profile = table["dependent_variables"]
    assert "upper limit" in bayes["header"]["name"]
    np.testing.assert_allclose([v["value"] for v in bayes["values"]],
                               [r["g_upper"] for r in expected], rtol=1e-4)
    assert [v["errors"][0]["label"] for v in bayes["values"]] == ["MC"] * len(expected)
    np.testing.assert_allclose([v["errors"][0]["symerror"] for v in bayes["values"]],
                               [r["g_upper_mcse"] for r in expected], rtol=1e-4)
    qualifiers = {q["name"]: q["value"] for q in bayes["qualifiers"]}
    assert qualifiers["CL"] == "90%"
    assert qualifiers["prior on g"] == "flat-g4"
    assert qualifiers["flavour model"] == "decoherent-vacuum"
    assert "Borexino Phase-I 7Be 862 keV rate" in qualifiers["data"]
    np.testing.assert_allclose([v["value"] for v in profile["values"]],
                               [r["g_upper_profile"] for r in expected], rtol=1e-4)
    assert "profile" in profile["header"]["name"]

    validator = DataFileValidator()
    valid = validator.validate(file_path=str(target))
    assert valid, [m.message for m in validator.get_messages(str(target))]


def test_export_hepdata_to_stdout_matches_out_file(cli, tiny_run, tmp_path):
    target = tmp_path / "g90.yaml"
    to_file = cli("export", tiny_run, "--format", "hepdata", "--out", target)
    to_stdout = cli("export", tiny_run, "--format", "hepdata")
    assert to_file.returncode == to_stdout.returncode == 0, to_file.stderr + to_stdout.stderr
    assert to_stdout.stdout == target.read_text()
    assert to_stdout.stdout.startswith("# mcprop")


def test_export_out_writes_file_and_nothing_on_stdout(cli, tiny_run, tmp_path):
    target = tmp_path / "limits.csv"
    target.write_text("an older export\n")
    out = cli("export", tiny_run, "--format", "csv", "--out", target)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert target.read_text() == (tiny_run / "limits.csv").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["limits.csv"], "no temporary files left"


def test_diagnose_finished_run(cli, tiny_run):
    out = cli("diagnose", tiny_run)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["m_zprime_MeV", "g_upper"]
    for result in results(tiny_run):
        (row,) = [line for line in lines[1:]
                  if line.split()[0] == f"{result['m_zprime_MeV']:.6g}"]
        cells = row.split()
        assert float(cells[1]) == float(f"{result['g_upper']:.4e}")
        assert float(cells[4]) == round(result["ess"])
        assert int(cells[8]) == result["n_steps"]
        assert cells[-1] == "yes"
    assert lines[-1] == "tiny: 3/3 masses converged"


def test_diagnose_reports_a_mass_that_did_not_converge(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    path = run / "results" / "m001.json"
    result = json.loads(path.read_text())
    result.update(converged=False, problems=["R-hat = 1.3000 >= 1.05"])
    path.write_text(json.dumps(result))
    out = cli("diagnose", run)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "R-hat = 1.3000 >= 1.05" in out.stdout
    rows = [line.split() for line in out.stdout.splitlines()]
    assert [cells[-1] for cells in rows[1:4]] == ["yes", "NO", "yes"]
    assert "2/3 masses converged, 1 not converged" in out.stdout.splitlines()[-1]


def test_diagnose_names_a_missing_mass(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    (run / "results" / "m002.json").unlink()
    out = cli("diagnose", run)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "mass 2 (m = 100 MeV)" in out.stdout
    assert "1 missing" in out.stdout.splitlines()[-1]


def test_export_of_an_incomplete_run_warns_and_exports_what_is_done(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    (run / "results" / "m001.json").unlink()
    out = cli("export", run, "--format", "json")
    assert out.returncode == 0, out.stderr
    masses = [row["m_zprime_MeV"] for row in json.loads(out.stdout)["limits"]]
    assert masses == [0.1, 100.0]
    assert "mass 1" in out.stderr and "incomplete" in out.stderr


def test_export_hepdata_without_profile_limits(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    for path in (run / "results").glob("m*.json"):
        result = json.loads(path.read_text())
        result["g_upper_profile"] = None
        path.write_text(json.dumps(result))
    target = run.parent / "g90.yaml"
    out = cli("export", run, "--format", "hepdata", "--out", target)
    assert out.returncode == 0, out.stderr
    (bayes,) = yaml.safe_load(target.read_text())["dependent_variables"]
    np.testing.assert_allclose([v["value"] for v in bayes["values"]],
                               [r["g_upper"] for r in results(run)], rtol=1e-4)
    validator = DataFileValidator()
    assert validator.validate(file_path=str(target)), validator.get_messages(str(target))


def test_export_hepdata_submission(cli, tiny_run, tmp_path):
    """hepdata_lib's submission: submission.yaml, the table, the plot, the tarball; valid."""
    from hepdata_validator.submission_file_validator import SubmissionFileValidator

    folder = tmp_path / "submission"
    out = cli("export", tiny_run, "--format", "hepdata-submission", "--out", folder)
    assert out.returncode == 0, out.stderr
    names = {p.name for p in folder.iterdir()}
    assert {"submission.yaml", "limit_curve.png", "submission.tar.gz"} <= names
    tables = [p for p in folder.glob("*.yaml") if p.name != "submission.yaml"]
    assert len(tables) == 1
    validator = SubmissionFileValidator()
    assert validator.validate(file_path=str(folder / "submission.yaml")), [
        m.message for m in validator.get_messages(str(folder / "submission.yaml"))]
    assert DataFileValidator().validate(file_path=str(tables[0]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["submission"]
    again = cli("export", tiny_run, "--format", "hepdata-submission", "--out", folder)
    assert again.returncode == 2 and "exists" in again.stderr


def test_export_and_diagnose_load_no_sampling_or_plotting_stack(tiny_run):
    """Reading a finished run stays light (about 0.3 s): SciPy and the sampling stack,
    ArviZ, pandas and matplotlib are never imported."""
    heavy = ("scipy", "arviz", "matplotlib", "emcee", "pandas",
             "mcprop.inference.posterior", "mcprop.interface.config")
    script = (f"import sys; from mcprop.interface import cli\n"
              f"for argv in (['export', {str(tiny_run)!r}, '--format', 'csv'],\n"
              f"             ['export', {str(tiny_run)!r}, '--format', 'json'],\n"
              f"             ['diagnose', {str(tiny_run)!r}]):\n"
              f"    assert cli.main(argv) == 0, argv\n"
              f"print('imported:', *(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "imported:"
