"""The Python API: a notebook-style session, results as objects, model-specific text."""

import json
import tomllib

import numpy as np
import pytest
from conftest import DATA

import mcprop
from mcprop.inference.results import LIMIT_COLUMNS, MassResult, ResultError
from mcprop.interface import result as result_module


def _tiny_dict(**physics):
    document = tomllib.loads((DATA / "tiny.toml").read_text())
    document["priors"]["files"] = [str((DATA / f).resolve()) for f in
                                   document["priors"]["files"]]
    document["physics"] = {**document.get("physics", {}), **physics}
    return document


def test_notebook_session(tiny_run, tmp_path):
    """run -> limits -> corner -> save -> load, with no file written until asked."""
    before = sorted(tmp_path.iterdir())
    r = mcprop.run(_tiny_dict(), workers=1)
    assert sorted(tmp_path.iterdir()) == before and r.run_dir is None
    assert list(r.limits.columns) == list(LIMIT_COLUMNS) and len(r.limits) == 3
    # the same config and seed as the CLI run: the same limits
    assert r.limits.equals(mcprop.load(tiny_run).limits)
    figure = r.corner(3.0)
    assert "3.162 MeV" in figure.texts[0].get_text() or any(
        "3.162" in t.get_text() for t in figure.texts)
    saved = r.save(tmp_path / "saved")
    again = mcprop.load(saved)
    assert again.limits.equals(r.limits)
    np.testing.assert_array_equal(again.chains(3.0).posterior["g"].values,
                                  r.chains(3.0).posterior["g"].values)
    assert (saved / "limit_curve.png").is_file()


def test_public_names_are_documented():
    assert {"run", "load", "read_config", "ScanResult"} <= set(dir(mcprop))
    for name in ("run", "load", "read_config", "ScanResult"):
        assert "Examples" in getattr(mcprop, name).__doc__


def test_repr_is_a_one_line_summary(tiny_run, monkeypatch):
    """A notebook cell shows what the result is, not its config and every point's draws."""
    r = mcprop.load(tiny_run)
    converged = sum(line.rstrip().endswith("True")
                    for line in (tiny_run / "limits.csv").read_text().splitlines()
                    if not line.startswith("#"))
    text = repr(r)
    assert "\n" not in text and len(text) < 250, text
    assert text == (f"<ScanResult 'tiny': L_mu - L_tau Z' limits, 3 masses 0.1-100 MeV, "
                    f"3/3 done, {converged} converged, seed 7, in {tiny_run}>")
    page = r._repr_html_()  # a notebook: the line above the limits table
    assert page.startswith("<p><code>&lt;ScanResult &#x27;tiny&#x27;: L_mu - L_tau Z&#x27;")
    assert page.count("<tr") == 1 + 3 and "rows; all in" not in page  # header, 3 masses
    monkeypatch.setattr(result_module, "HTML_ROWS", 2)
    page = r._repr_html_()
    assert page.count("<tr") == 1 + 2 and "2 of 3 rows; all in <code>.limits</code>" in page
    unsaved = mcprop.ScanResult(r.config, r.masses_MeV, r.results[:1], r.config_hash)
    assert repr(unsaved).endswith("1/3 done, " f"{int(r.results[0].converged)} converged, "
                                  "seed 7>")


def test_mass_result_record_round_trip_and_checks(tiny_run):
    record = json.loads((tiny_run / "results" / "m000.json").read_text())
    record.pop("run")
    result = MassResult.from_record(record)
    assert result.record() == record
    for key, bad in (("g_upper", float("nan")), ("converged", "no"), ("ess", -1.0),
                     ("n_steps", 1.5), ("m_zprime_MeV", 0.0)):
        with pytest.raises(ResultError, match=key):
            MassResult.from_record({**record, key: bad})
    with pytest.raises(ResultError, match="converged"):
        MassResult.from_record({**record, "g_upper": None, "converged": True})


def test_model_specific_text(tmp_path):
    """A B - L run names its own model in the provenance and the plot title, and draws no
    L_mu - L_tau reference curves."""
    document = _tiny_dict(model="B-L")
    document["mass_grid"] = {"mass_min_MeV": 10.0, "mass_max_MeV": 10.0, "n_masses": 1}
    r = mcprop.run(document, workers=1)
    assert "B - L Z' coupling" in r.provenance()[0]
    assert "L_mu" not in "\n".join(r.provenance())
    ax = r.plot().axes[0]
    assert "B - L" in ax.get_title() and r"\mu" not in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("(g-2)" in label or "allowance" in label for label in labels)
