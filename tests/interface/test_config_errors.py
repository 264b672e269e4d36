"""Bad run configs: each gives one error line naming the file, the key and the problem,
exit code 2, no traceback, and leaves every existing file untouched; config errors are
raised while the config is read, before any kernel is computed, any sampling starts or any
file is written. The command line runs in-process (``cli.main``)."""

import os
from pathlib import Path

import pytest
import tomli_w
from conftest import (
    PRIORS,
    REPO,
    SPECTRAL_PRIORS,
    SPECTRUM,
    assert_one_line_error,
    prior_copy,
    snapshot,
    tiny_config,
)

from mcprop.files import MAX_INPUT_BYTES
from mcprop.interface.config import config_from_dict

# --- structure, numbers, priors, files and names of a rate config --------------------------------


def table_at(doc: dict, dotted: str) -> dict:
    """The table at the dotted key path (``measurements`` is the first measurement)."""
    table = doc
    for part in filter(None, dotted.split(".")):
        table = table.setdefault(part, {})
        table = table[0] if isinstance(table, list) else table
    return table


def set_key(dotted: str, value):
    parent, _, last = dotted.rpartition(".")
    return lambda doc, tmp_path: table_at(doc, parent).__setitem__(last, value)


def update(dotted: str, **values):
    return lambda doc, tmp_path: table_at(doc, dotted).update(values)


def drop(dotted: str):
    parent, _, last = dotted.rpartition(".")
    return lambda doc, tmp_path: table_at(doc, parent).pop(last)


def prior_file(index: int, name: str, *replacements: tuple[str, str]):
    """Replace prior file ``index`` of the config by an edited copy of priors/NAME."""
    def mutate(doc, tmp_path):
        path = prior_copy(tmp_path, name, *replacements[0])
        for old, new in replacements[1:]:
            text = Path(path).read_text()
            assert old in text
            Path(path).write_text(text.replace(old, new))
        if index == len(doc["priors"]["files"]):
            doc["priors"]["files"].append(path)
        else:
            doc["priors"]["files"][index] = path
    return mutate


def with_p_ee_prior(*replacements: tuple[str, str]):
    """The P_ee flavour model with an edited copy of the Borexino Phase-I P_ee prior."""
    add_prior = prior_file(2, "borexino-pee-phase1.toml", *replacements)

    def mutate(doc, tmp_path):
        doc["physics"]["flavour_model"] = "pee"
        add_prior(doc, tmp_path)
    return mutate


def missing_prior(doc, tmp_path):
    doc["priors"]["files"][1] = str(tmp_path / "no-such-prior.toml")


def reversed_masses(doc, tmp_path):
    doc["mass_grid"].update(mass_min_MeV=100.0, mass_max_MeV=0.1)


def survival_probability(**extra):
    """Add the Borexino Phase-I P_ee as a measurement beside the Phase-I rate."""
    def mutate(doc, tmp_path):
        doc["measurements"].append({
            "kind": "survival-probability", "name": "Borexino Phase-I P_ee", "line": "862keV",
            "value": 0.51, "sigma_plus": 0.07, "sigma_minus": 0.07,
            "source": "Borexino, PRL 107, 141302 (2011)", **extra})
    return mutate


def correlate(first: str, second: str):
    def mutate(doc, tmp_path):
        doc["correlations"] = [{"measurements": [first, second],
                                "systematic_correlation": 0.5, "source": "test"}]
    return mutate


def symlink_loop_prior(doc, tmp_path):
    os.symlink(tmp_path / "loop-b.toml", tmp_path / "loop-a.toml")
    os.symlink(tmp_path / "loop-a.toml", tmp_path / "loop-b.toml")
    doc["priors"]["files"][1] = str(tmp_path / "loop-a.toml")


def oversized_prior(doc, tmp_path):
    target = tmp_path / "huge-prior.toml"
    target.write_text((PRIORS / "ssm-b16-gs98.toml").read_text()
                      + "#" * (MAX_INPUT_BYTES + 1) + "\n")
    doc["priors"]["files"][1] = str(target)


PRIOR_FILE = "ssm-b16-gs98.toml"


FLUX = ('family = "normal"\nmean = 4.93e9\nsigma = 0.2958e9', )


CONFIG_CASES = {
    # --- structure: unknown, missing and mistyped keys
    "unknown top-level key": (set_key("colour", "red"), ["colour", "unknown key"]),
    "unknown sampler key": (set_key("sampler.n_walker", 16), ["sampler.n_walker", "unknown"]),
    "unknown key with a newline": (set_key("physics.a\nb", 1), ["physics.a\\nb", "unknown"]),
    "wrong schema_version": (set_key("schema_version", 2), ["schema_version", "2"]),
    "schema_version true": (set_key("schema_version", True), ["schema_version", "True"]),
    "no schema_version": (drop("schema_version"), ["schema_version"]),
    "no seed": (drop("sampler.seed"), ["sampler.seed", "missing (required)"]),
    "no measurements": (drop("measurements"), ["measurements", "missing (required)"]),
    "physics not a table": (set_key("physics", 3), ["physics", "must be a table"]),
    "prior files not a list": (set_key("priors.files", "nufit.toml"), ["priors.files",
                                                                       "must be a list"]),
    "seed not an integer": (set_key("sampler.seed", 1.5), ["sampler.seed"]),
    "interference not a bool": (set_key("physics.interference", 1),
                                ["physics.interference", "true or false"]),
    "unknown flavour model": (set_key("physics.flavour_model", "bogus"),
                              ["physics.flavour_model", "bogus"]),
    "unknown measurement kind": (set_key("measurements.kind", "flux"),
                                 ["measurements[0].kind", "flux"]),
    "measurement kind a list": (set_key("measurements.kind", ["rate"]),
                                ["measurements[0].kind", "['rate']"]),
    "measurement without kind": (drop("measurements.kind"), ["measurements[0].kind",
                                                                "missing"]),
    "unknown line": (set_key("measurements.lines", ["1.4MeV"]), ["measurements[0].lines",
                                                                 "1.4MeV"]),
    "a line twice": (set_key("measurements.lines", ["862keV", "862keV"]),
                     ["measurements[0].lines", "twice"]),
    "window of three numbers": (set_key("measurements.window_MeV", [0.2, 0.5, 1.0]),
                                ["measurements[0].window_MeV", "2 entries"]),
    # --- numbers: non-finite, out of range, absurd scales
    "nan rate": (set_key("measurements.value_cpd100t", float("nan")),
                 ["measurements[0].value_cpd100t", "finite"]),
    "infinite credibility": (set_key("limits.credibility", float("inf")),
                             ["limits.credibility", "finite"]),
    "seed of 30 digits": (set_key("sampler.seed", 10**30), ["sampler.seed", "1000000"]),
    "min_ess of 400 digits": (set_key("sampler.min_ess", 10**400),
                              ["sampler.min_ess", "finite", "..."]),
    "prior mean of 400 digits": (prior_file(1, PRIOR_FILE, ("mean = 4.93e9", "mean = 1"
                                                            + "0" * 400)),
                                 [PRIOR_FILE, "flux_7be_cm2s.mean", "finite"]),
    "rate 1e308": (set_key("measurements.value_cpd100t", 1e308),
                   ["measurements[0].value_cpd100t", "1e+308"]),
    "errors 1e-300": (update("measurements", stat_cpd100t=1e-300, syst_plus_cpd100t=1e-300,
                             syst_minus_cpd100t=1e-300),
                      ["measurements[0].syst_plus_cpd100t", "below 1e-06 of the value"]),
    "zero total error": (update("measurements", stat_cpd100t=0.0, syst_minus_cpd100t=0.0),
                         ["measurements[0].syst_minus_cpd100t", "below"]),
    "negative stat error": (set_key("measurements.stat_cpd100t", -1.5),
                            ["measurements[0].stat_cpd100t", "-1.5"]),
    "window in keV": (set_key("measurements.window_MeV", [270, 1600]),
                      ["measurements[0].window_MeV", "MeV", "270"]),
    "window above T_max": (set_key("measurements.window_MeV", [0.7, 1.6]),
                           ["measurements[0].window_MeV", "T_max = 0.6647 MeV"]),
    "window reversed": (set_key("measurements.window_MeV", [1.6, 0.27]),
                        ["measurements[0].window_MeV", "below T2"]),
    "resolution without window": (drop("measurements.window_MeV"),
                                  ["measurements[0].resolution_MeV", "needs window_MeV"]),
    "mass range 1e-300 to 1e300": (update("mass_grid", mass_min_MeV=1e-300,
                                          mass_max_MeV=1e300),
                                   ["mass_grid.mass_min_MeV", "[1e-06, 1e+06] MeV"]),
    "mass above 1 TeV": (set_key("mass_grid.mass_max_MeV", 1e7), ["mass_grid.mass_max_MeV"]),
    "mass range reversed": (reversed_masses, ["mass_grid.mass_max_MeV"]),
    "zero mass": (set_key("mass_grid.mass_min_MeV", 0.0), ["mass_grid.mass_min_MeV"]),
    "negative mass": (set_key("mass_grid.mass_min_MeV", -1.0), ["mass_grid.mass_min_MeV"]),
    "no masses": (set_key("mass_grid.n_masses", 0), ["mass_grid.n_masses"]),
    "credibility 1.5": (set_key("limits.credibility", 1.5), ["limits.credibility", "1.5"]),
    "credibility 0": (set_key("limits.credibility", 0), ["limits.credibility"]),
    "profile level 0": (set_key("limits.profile_delta_chi2", 0.0),
                        ["limits.profile_delta_chi2", "(0, 100]"]),
    "weak mixing angle 1": (set_key("physics.sin2_theta_w", 1.0), ["physics.sin2_theta_w"]),
    "initial_np_fraction 0": (set_key("sampler.initial_np_fraction", 0),
                              ["sampler.initial_np_fraction", "(0, 1e+06]"]),
    "walkers start above the prior": (set_key("sampler.initial_np_fraction", 20.0),
                                      ["sampler.initial_np_fraction", "upper_np_fraction"]),
    "upper_np_fraction 0": (set_key("coupling_prior.upper_np_fraction", 0.0),
                            ["coupling_prior.upper_np_fraction"]),
    "too few walkers": (set_key("sampler.n_walkers", 4), ["sampler.n_walkers", "4"]),
    "one ensemble": (set_key("sampler.n_ensembles", 1), ["sampler.n_ensembles"]),
    "chunk longer than the cap": (update("sampler", chunk_steps=500, max_steps=400),
                                  ["sampler", "chunk_steps <= max_steps"]),
    # --- the coupling prior
    "log-flat without floor": (set_key("coupling_prior.kind", "log-flat"),
                               ["coupling_prior.floor_g", "required"]),
    "floor with flat-g4": (update("coupling_prior", kind="flat-g4", floor_g=1e-7),
                           ["coupling_prior.floor_g", "only the log-flat"]),
    "flat-rate with kinetic mixing": (set_key("physics.kinetic_mixing", 1e-4),
                                      ["coupling_prior.kind", "kinetic_mixing"]),
    # --- priors: files and physical sense
    "missing prior file": (missing_prior, ["priors.files", "no-such-prior.toml",
                                           "cannot read"]),
    "unknown prior family": (prior_file(1, PRIOR_FILE, ('family = "normal"',
                                                        'family = "lognormal"')),
                             [PRIOR_FILE, "family", "lognormal"]),
    "negative prior width": (prior_file(1, PRIOR_FILE, ("sigma = 0.2958e9",
                                                        "sigma = -0.2958e9")),
                             [PRIOR_FILE, "sigma", "positive"]),
    "nan prior mean": (prior_file(1, PRIOR_FILE, ("mean = 4.93e9", "mean = nan")),
                       [PRIOR_FILE, "flux_7be_cm2s.mean", "finite"]),
    "flux fixed at 0": (prior_file(1, PRIOR_FILE, (FLUX[0], 'family = "fixed"\nvalue = 0.0')),
                        [PRIOR_FILE, "flux_7be_cm2s", "fixed value 0", "(0, inf]"]),
    "flux width 1e308": (prior_file(1, PRIOR_FILE, ("sigma = 0.2958e9", "sigma = 1e308")),
                         [PRIOR_FILE, "flux_7be_cm2s.sigma", "1e+308"]),
    "circular width 1e-300": (prior_file(0, "nufit-5.0-no.toml", ("sigma_plus_deg = 27.0",
                                                                  "sigma_plus_deg = 1e-300")),
                              ["nufit-5.0-no.toml", "delta_cp_deg.sigma_plus_deg", "fixed"]),
    "uniform flux 1 per cm2 s wide": (prior_file(1, PRIOR_FILE, (
        FLUX[0], 'family = "uniform"\nlow = 4.93e9\nhigh = 4.930000001e9')),
        [PRIOR_FILE, "flux_7be_cm2s", "narrower"]),
    "truncated normal without mass": (with_p_ee_prior(("mean = 0.51", "mean = 5.1"),
                                                      ("sigma = 0.07", "sigma = 0.01")),
                                      ["borexino-pee-phase1.toml", "p_ee.mean",
                                       "no probability"]),
    "truncated normal outside the domain": (
        with_p_ee_prior(("mean = 0.51", "mean = 3.0"), ("sigma = 0.07", "sigma = 0.5"),
                        ("low = 0.0", "low = -5.0"), ("high = 1.0", "high = 5.0")),
        ["borexino-pee-phase1.toml", "p_ee", "inside the physical domain [0, 1]"]),
    "prior source with a newline": (prior_file(1, PRIOR_FILE,
                                               ('source = "B16', 'source = "\\nB16')),
                                    [PRIOR_FILE, "source", "control characters"]),
    "no P_ee prior for the P_ee model": (set_key("physics.flavour_model", "pee"),
                                         ["priors.files", "no prior for p_ee"]),
    # --- files
    "prior is /dev/zero": (set_key("priors.files", [str(PRIORS / "nufit-5.0-no.toml"),
                                                    "/dev/zero"]),
                           ["priors.files", "/dev/zero", "not a regular file"]),
    "prior is a folder": (set_key("priors.files", [str(PRIORS)]),
                          ["priors.files", "not a regular file"]),
    "prior path with a NUL byte": (set_key("priors.files", ["ssm\0.toml"]),
                                   ["priors.files", "NUL"]),
    "prior in a symlink loop": (symlink_loop_prior, ["priors.files", "symlink loop"]),
    "prior over 1 MiB": (oversized_prior, ["priors.files", "huge-prior.toml",
                                           f"{MAX_INPUT_BYTES}-byte limit"]),
    "solar profile is /dev/zero": (update("physics", flavour_model="decoherent-msw",
                                          solar_profile="/dev/zero"),
                                   ["physics.solar_profile", "not a regular file"]),
    "solar profile of another model": (set_key("physics.solar_profile", "profile.csv"),
                                       ["physics.solar_profile", "decoherent-msw"]),
    "output folder with a newline": (set_key("output.directory", "out\nx"),
                                     ["output.directory", "control character"]),
    # --- names and texts that become paths, legends and CSV comment lines
    "run name with a newline": (set_key("name", "tiny\nrun"), ["name", "'tiny\\nrun'"]),
    "run name with a slash": (set_key("name", "../escape"), ["name", "'../escape'"]),
    "run name with a dollar": (set_key("name", "g$^2$"), ["name", "starting with a letter"]),
    "empty run name": (set_key("name", ""), ["name", "1 to 100 characters"]),
    "measurement name with a control character": (set_key("measurements.name", "rate\x1b[2J"),
                                                  ["measurements[0].name", "\\x1b"]),
    "source with a carriage return": (set_key("measurements.source", "PRL\r107"),
                                      ["measurements[0].source", "control character"]),
    "description with a newline": (set_key("description", "two\nlines"), ["description"]),
    "dataset with a space": (set_key("measurements.dataset", "borexino phase1"),
                             ["measurements[0].dataset"]),
    "two measurements of one name": (lambda doc, tmp_path: doc["measurements"].append(
        dict(doc["measurements"][0], dataset="other")),
        ["measurements[1].name", "already the name of measurements[0]"]),
    # --- relations between measurements
    "P_ee from the data of the rate": (survival_probability(dataset="borexino-phase1"),
                                       ["measurements[1].dataset", "borexino-phase1",
                                        "counts them twice", "allow_shared_dataset"]),
    "only a survival probability": (lambda doc, tmp_path: doc.update(measurements=[
        {"kind": "survival-probability", "name": "P_ee", "line": "862keV", "value": 0.51,
         "sigma_plus": 0.07, "sigma_minus": 0.07, "source": "PRL 107, 141302"}]),
        ["measurements", "at least one rate"]),
    "correlation with an unknown measurement": (
        correlate("Borexino Phase-I 7Be 862 keV rate", "Phase III"),
        ["correlations[0].measurements", "Phase III"]),
    "correlation of a measurement with itself": (
        correlate("Borexino Phase-I 7Be 862 keV rate", "Borexino Phase-I 7Be 862 keV rate"),
        ["correlations[0].measurements", "two different"]),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_config(cli, tmp_path, case):
    mutate, needles = CONFIG_CASES[case]
    doc = tiny_config(tmp_path)
    mutate(doc, tmp_path)
    config = tmp_path / "bad.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    before = snapshot(tmp_path)
    result = cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert_one_line_error(result, config, *needles)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "out").exists()


def test_p_ee_from_the_data_of_the_rate_allowed_with_the_override(tmp_path):
    from mcprop.interface.config import load_config

    doc = tiny_config(tmp_path)
    survival_probability(dataset="borexino-phase1", allow_shared_dataset=True)(doc, tmp_path)
    config = tmp_path / "shared.toml"
    config.write_bytes(tomli_w.dumps(doc).encode())
    assert len(load_config(config).plan.measurements) == 2

# --- config files that cannot be read ------------------------------------------------------------


def config_text(tmp_path: Path) -> str:
    return tomli_w.dumps(tiny_config(tmp_path))


def make_fifo(tmp_path: Path) -> Path:
    path = tmp_path / "config.fifo"
    os.mkfifo(path)
    return path


def symlink_loop(tmp_path: Path) -> Path:
    os.symlink(tmp_path / "b.toml", tmp_path / "a.toml")
    os.symlink(tmp_path / "a.toml", tmp_path / "b.toml")
    return tmp_path / "a.toml"


def written(name: str, content):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        data = content(tmp_path)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path
    return make


#: Config files that cannot be read, or that TOML cannot describe as a config: how to make
#: one, and what the error says.
UNREADABLE_CONFIGS = {
    "missing": (lambda tmp_path: tmp_path / "nowhere.toml", ["nowhere.toml", "no such"]),
    "/dev/zero": (lambda tmp_path: Path("/dev/zero"), ["/dev/zero", "not a regular file"]),
    "a folder": (lambda tmp_path: tmp_path, ["not a regular file"]),
    "a FIFO": (make_fifo, ["config.fifo", "not a regular file"]),
    "a symlink loop": (symlink_loop, ["a.toml", "symlink loop"]),
    "a NUL byte in the path": (lambda tmp_path: tmp_path / "bad\0.toml", ["bad\\x00.toml",
                                                                          "NUL"]),
    "over 1 MiB": (written("big.toml", lambda tmp_path: config_text(tmp_path) + "#" * (
        MAX_INPUT_BYTES + 1)), ["big.toml", f"{MAX_INPUT_BYTES}-byte limit"]),
    "not UTF-8": (written("latin1.toml", lambda tmp_path: config_text(tmp_path).replace(
        'description = "test run"', 'description = "r\xe9sum\xe9"').encode("latin-1")),
        ["latin1.toml", "not UTF-8"]),
    "bad TOML syntax": (written("bad.toml", lambda tmp_path: config_text(tmp_path).replace(
        "n_masses = 3", "n_masses = = 3")), ["bad.toml", "invalid TOML"]),
    "arrays nested 600 deep": (written("deep.toml", lambda tmp_path: "schema_version = 1\n"
                                       "name = " + "[" * 600 + "]" * 600 + "\n"),
                               ["deep.toml", "nested too deeply"]),
    "a model 5000 tables deep": (written("deep.toml", lambda tmp_path: config_text(tmp_path)
                                          + "[physics.model" + ".a" * 5000 + "]\nb = 1\n"),
                                  ["deep.toml", "physics.model", "must be a string", "{...}"]),
    "an integer of 5000 digits": (written("long.toml", lambda tmp_path: config_text(
        tmp_path).replace("seed = 7", "seed = " + "7" * 5000)), ["long.toml", "invalid TOML",
                                                                 "4300 digits"]),
    "tables nested 600 deep": (written("deep.toml", lambda tmp_path: "x = " + "{a = " * 600
                                       + "1" + "}" * 600 + "\n"),
                               ["deep.toml", "nested too deeply"]),
}


@pytest.mark.parametrize("case", UNREADABLE_CONFIGS)
def test_unreadable_config(cli, tmp_path, case):
    make, needles = UNREADABLE_CONFIGS[case]
    config = make(tmp_path)
    before = snapshot(tmp_path)
    result = cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert_one_line_error(result, *needles)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "out").exists()

# --- spectral inputs: the data must be a measurement of every bin fitted -------------------------


PACKAGE_DATA = REPO / "mcprop/physics/data"


def write_config(tmp_path: Path, doc: dict, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


def fit_document(tmp_path: Path, **spectrum) -> dict:
    """A Standard-Model fit of the Phase-II spectrum in 42 bins of 20 N_h, sampled briefly
    (so that on code that accepts a bad input the test ends fast, and fails)."""
    return {"schema_version": 1, "name": "fit",
            "physics": {"model": "standard-model", "flavour_model": "decoherent-vacuum"},
            "priors": {"files": SPECTRAL_PRIORS},
            "measurements": [{**SPECTRUM, **spectrum}],
            "sampler": {"seed": 3, "n_walkers": 48, "chunk_steps": 5, "max_steps": 5,
                        "min_kept_tau": 0, "burn_in_tau": 0, "checkpoint_interval_s": 0.0},
            "output": {"directory": str(tmp_path / "out")}}


def package_table(name: str) -> tuple[list[str], list[list[str]]]:
    """Comment lines and rows (fields) of a package-data CSV table."""
    lines = (PACKAGE_DATA / name).read_text().splitlines()
    return ([line for line in lines if line.startswith("#")],
            [line.split(",") for line in lines if not line.startswith("#")])


def spectrum_table(tmp_path: Path, edit) -> str:
    """The Phase-II spectrum as a CSV ``nh,counts`` with ``edit(rows)`` applied ({nh: count})."""
    _, rows = package_table("borexino_phase2_spectrum.csv")
    counts = {int(r[0]): r[1] for r in rows[1:]}
    edit(counts)
    path = tmp_path / "spectrum.csv"
    path.write_text("nh,counts\n" + "".join(f"{nh},{c}\n" for nh, c in counts.items()))
    return str(path)


def backgrounds_table(tmp_path: Path, edit) -> str:
    """The Phase-II background table with ``edit(header, rows)`` applied."""
    comments, rows = package_table("borexino_phase2_backgrounds.csv")
    header, body = rows[0], rows[1:]
    edit(header, body)
    path = tmp_path / "backgrounds.csv"
    path.write_text("\n".join([*comments, ",".join(header), *map(",".join, body)]) + "\n")
    return str(path)


def only(low: int, high: int):
    def edit(counts):
        for nh in list(counts):
            if not low <= nh <= high:
                del counts[nh]
    return edit


def _set(counts, values):
    counts.update(values)


def duplicate_column(header, body):
    header[2] = header[1]  # c14,c14: the second used to win


def zero_column(header, body):
    column = header.index("kr85")
    for row in body:
        row[column] = "0"


SPECTRAL_CASES = {
    "a spectrum of N_h 300-400 only": (
        lambda tmp_path: {"spectrum_file": spectrum_table(tmp_path, only(300, 400))},
        ["measurements[0]", "N_h range 110-949", "outside the spectrum's 300-400"]),
    "a negative unit bin hidden by rebinning": (
        lambda tmp_path: {"spectrum_file": spectrum_table(
            tmp_path, lambda c: _set(c, {300: -3, 301: int(c[301]) + int(c[300]) + 3}))},
        ["measurements[0]", "spectrum counts", "N_h = 300", "is negative"]),
    "fractional unit bins that add up to an integer": (
        lambda tmp_path: {"spectrum_file": spectrum_table(
            tmp_path, lambda c: _set(c, {300: f"{c[300]}.5", 301: f"{int(c[301]) - 1}.5"}))},
        ["measurements[0]", "N_h = 300", "not an integer"]),
    "a count of 1e300": (
        lambda tmp_path: {"spectrum_file": spectrum_table(tmp_path, lambda c: _set(
            c, {500: "1e300"}))},
        ["measurements[0]", "N_h = 500", "above the plausible"]),
    "a background column named twice": (
        lambda tmp_path: {"backgrounds_file": backgrounds_table(tmp_path, duplicate_column)},
        ["measurements[0].backgrounds_file", "backgrounds.csv", "'c14' twice"]),
    "an all-zero background shape": (
        lambda tmp_path: {"backgrounds_file": backgrounds_table(tmp_path, zero_column)},
        ["measurements[0]", "background 'kr85'", "0 in every unit bin of N_h 110-949"]),
}


@pytest.mark.parametrize("case", SPECTRAL_CASES)
def test_spectral_input_refused(cli, tmp_path, case):
    make, needles = SPECTRAL_CASES[case]
    config = write_config(tmp_path, fit_document(tmp_path, **make(tmp_path)))
    before = snapshot(tmp_path)
    result = cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers", 1)
    assert_one_line_error(result, config, *needles)
    assert snapshot(tmp_path) == before


def test_the_same_spectrum_twice_in_one_dataset(cli, tmp_path):
    doc = fit_document(tmp_path)
    doc["measurements"].append({**SPECTRUM, "name": "Phase-II spectrum again"})
    config = write_config(tmp_path, doc)
    result = cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers", 1)
    assert_one_line_error(result, "measurements[1].dataset", "'Phase-II spectrum'",
                          "count the same events twice")
    assert not (tmp_path / "run").exists()


def test_fit_with_every_parameter_fixed(cli, tmp_path):
    doc = fit_document(tmp_path)
    names = list(config_from_dict(doc, REPO).plan.priors.free_names)
    assert "flux_7be_cm2s" in names
    doc["priors"]["fixed"] = names
    config = write_config(tmp_path, doc)
    result = cli("run", config, "--out", tmp_path / "run", "--quiet", "--workers", 1)
    assert_one_line_error(result, config, "priors.fixed", "fixes every sampled parameter")
    assert not (tmp_path / "run").exists()
