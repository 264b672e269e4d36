"""Progress of a run: the lockstep sampler's per-chunk callback, the bar on a terminal, a few
log lines elsewhere."""

import io
import logging
import sys

import numpy as np
from conftest import DATA, REPO

from mcprop.inference.measurements import RelativeRateMeasurement
from mcprop.inference.plan import ScanPlan
from mcprop.inference.posterior import CouplingPrior, sampled_priors
from mcprop.inference.priors import load_prior_files
from mcprop.inference.sampler import Progress, SamplerSettings, sample_points
from mcprop.interface.runner import RunProgress
from mcprop.physics.flavour import flavour_model


def test_progress_follows_the_lockstep_chunks():
    """One call per chunk: the steps grow chunk by chunk, the points done only grow and end
    at all of them, a predicted end (when there is one) is a whole chunk between the step
    made and the cap, and the last call is the finished batch."""
    model = flavour_model("pee")
    priors = sampled_priors(load_prior_files([REPO / "priors/seed-fixed-inputs.toml"]), model)
    settings = SamplerSettings(n_walkers=16, min_ess=300.0, chunk_steps=50, max_steps=2000)
    plan = ScanPlan(np.array([1.0, 10.0, 100.0]), priors, model,
                    (RelativeRateMeasurement("seed", ("862keV",), 0.14, 46.0, "seed sec. 3"),),
                    CouplingPrior(), sampler=settings, seed=3, interference=False,
                    radiative_corrections=False)
    calls, finished = [], []

    def on_done(sample):
        finished.append(len(calls))

    samples = sample_points(plan.posterior(), [0, 1, 2], settings, plan.seed,
                            plan.credibility, on_done, on_chunk=calls.append)
    assert len(samples) == 3 and all(isinstance(c, Progress) for c in calls)
    steps = [c.step for c in calls]
    assert steps[0] == 0 and set(np.diff(steps)) <= {0, settings.chunk_steps}
    done = [c.done for c in calls]
    assert np.all(np.diff(done) >= 0) and done[-1] == 3 and all(c.total == 3 for c in calls)
    # a call as each point finishes, counting it
    assert [done[i] for i in finished] == [1, 2, 3]
    predicted = [c for c in calls[:-1] if c.expected_steps is not None]
    assert predicted, "no predicted end before the batch finished"
    for c in predicted:
        assert c.step <= c.expected_steps <= 2000
        assert c.expected_steps % settings.chunk_steps == 0
    assert calls[-1].expected_steps == calls[-1].step


def test_a_run_without_a_terminal_prints_no_bar(cli, tmp_path):
    """stderr to a file (a CI log): no progress bar (tqdm's carriage returns), only the few
    log lines of the run."""
    result = cli("run", DATA / "tiny-moments.toml", "--out", tmp_path / "run", "--workers", 1)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "step/s" not in result.stderr
    assert len(result.stderr.splitlines()) <= 4, result.stderr


def _feed(display: RunProgress, n_chunks: int = 100) -> None:
    for k in range(n_chunks + 1):
        display.chunk(Progress(10 * k, 10 * n_chunks, int(k == n_chunks), 1))


def test_without_a_terminal_progress_is_at_most_ten_log_lines(monkeypatch, caplog):
    """Off a terminal the bar is off and progress is an INFO line per further tenth of the
    work, at most one per interval: ten lines for a whole run, none within the interval."""
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="mcprop"):
        display = RunProgress("run", 1, 0, "posterior", "posteriors", steps=True, shown=True,
                              interval_s=0.0)
        assert display.bar.disable
        _feed(display)
        display.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10, lines
    assert lines[0].startswith("step 100 of about 1000, 0/1 posteriors done after")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mcprop"):
        display = RunProgress("run", 1, 0, "posterior", "posteriors", steps=True, shown=True,
                              interval_s=3600.0)
        _feed(display)
        display.close()
    assert not caplog.records
    assert sys.stderr.getvalue() == ""


def test_points_are_counted_with_several_workers(monkeypatch, caplog):
    """With workers in other processes the display counts finished points."""
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="mcprop"):
        display = RunProgress("run", 20, 2, "mass", "masses", steps=False, shown=True,
                              interval_s=0.0)
        for finished in range(2, 21):
            display.points(finished)
        display.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("2/20 masses done") and lines[-1].startswith("20/20 masses")
    assert len(lines) == 10, lines


def test_quiet_shows_nothing(monkeypatch, caplog):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="mcprop"):
        display = RunProgress("run", 1, 0, "posterior", "posteriors", steps=True, shown=False,
                              interval_s=0.0)
        _feed(display)
        display.close()
    assert not caplog.records

