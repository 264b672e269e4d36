"""Hostile run directories and processes: nothing on disk is trusted, nothing outside a run
is deleted, no NaN reaches an output, no process outlives the run."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import DATA, REPO, interrupted_run, one_line_error


def _files(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _limits(run_dir):
    return json.loads((run_dir / "limits.json").read_text())["limits"]


def test_force_refuses_a_directory_that_is_not_a_run(cli, tmp_path):
    folder = tmp_path / "mine"
    (folder / "chains").mkdir(parents=True)
    (folder / "chains" / "keep.txt").write_text("my notes")
    (folder / "chains" / "m000.nc").write_text("not mcprop's")
    before = _files(folder)
    one_line_error(cli("run", DATA / "tiny.toml", "--out", folder, "--force", "--quiet"),
                    "not an mcprop run directory")
    assert _files(folder) == before


def test_force_never_follows_a_symlinked_folder(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "m000.npz").write_text("someone else's file")
    os.rmdir(run / "checkpoints") if (run / "checkpoints").is_dir() else None
    (run / "checkpoints").symlink_to(target)
    one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--force", "--quiet"),
                    "checkpoints", "symlink")
    assert (target / "m000.npz").read_text() == "someone else's file"


def test_force_removes_only_the_runs_own_files(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    (run / "notes.txt").write_text("kept")
    (run / "chains" / "keep.txt").write_text("kept")
    out = cli("run", DATA / "tiny.toml", "--out", run, "--force", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert (run / "notes.txt").read_text() == "kept"
    assert (run / "chains" / "keep.txt").read_text() == "kept"
    assert _limits(run) == _limits(tiny_run)


def test_a_run_directory_in_use_is_refused(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (run / ".lock").write_text(f"{owner.pid}\n")
        before = _files(run)
        one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet"),
                        "in use by process", str(owner.pid))
        assert _files(run) == before
    finally:
        owner.kill()
        owner.wait()
    # a lock left by a process that is gone is taken over
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet")
    assert out.returncode == 0, out.stderr
    assert not (run / ".lock").exists()


def test_checkpoint_of_another_seed_is_discarded(cli, tiny_run, copy_run, tmp_path):
    other = tmp_path / "other-seed"
    interrupted_run(other, lambda folder: list(folder.glob("checkpoints/m00?.npz")),
                    extra_args=("--seed", "8"))
    stolen = sorted(other.glob("checkpoints/m00?.npz"))[0]
    run = copy_run(tiny_run)
    index = stolen.name
    (run / "results" / index.replace(".npz", ".json")).unlink()
    (run / "chains" / index.replace(".npz", ".nc")).unlink()
    (run / "checkpoints" / index).write_bytes(stolen.read_bytes())
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert "another run or mass" in out.stderr
    assert _limits(run) == _limits(tiny_run)


@pytest.mark.parametrize("case", ["nan", "copied over", "stray", "converged no"])
def test_damaged_results_are_refused_by_readers(cli, tiny_run, copy_run, case):
    run = copy_run(tiny_run)
    first, second = run / "results" / "m000.json", run / "results" / "m001.json"
    if case == "nan":
        second.write_text(second.read_text().replace('"g_upper": ', '"g_upper": NaN, "x": '))
    elif case == "copied over":
        second.write_bytes(first.read_bytes())
    elif case == "stray":
        (run / "results" / "m007.json").write_bytes(first.read_bytes())
    else:
        second.write_text(second.read_text().replace('"converged": true',
                                                     '"converged": "no"'))
    for command in ("export", "diagnose"):
        args = [command, run] + (["--format", "json"] if command == "export" else [])
        out = cli(*args)
        one_line_error(out, "m00")
        assert out.stdout == ""


def test_resume_recomputes_a_damaged_result(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    path = run / "results" / "m001.json"
    path.write_text(path.read_text().replace('"converged": true', '"converged": "no"'))
    out = cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet", "--workers", 1)
    assert out.returncode == 0, out.stderr
    assert "mass 1 will be recomputed" in out.stderr
    assert _limits(run) == _limits(tiny_run)


def test_bad_manifest_on_resume_is_one_line(cli, tiny_run, copy_run):
    run = copy_run(tiny_run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["seed"] = "seven"
    (run / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(cli("run", DATA / "tiny.toml", "--out", run, "--resume", "--quiet"),
                    "manifest.json", "seed")


def test_outputs_are_strict_json_and_readable_files(cli, tmp_path):
    """A run that cannot converge writes null, never NaN or Infinity; files are 0644."""
    config = (DATA / "tiny.toml").read_text().replace("max_steps = 400", "max_steps = 100")
    config = config.replace("min_ess = 200", "min_ess = 5000").replace(
        '"../../priors/', f'"{REPO}/priors/').replace(
        'directory = "../../runs/output/test-tiny"', f'directory = "{tmp_path / "short"}"')
    (tmp_path / "short.toml").write_text(config)
    assert cli("run", tmp_path / "short.toml", "--quiet", "--workers", 1).returncode == 0

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    json.loads((tmp_path / "short" / "limits.json").read_text(), parse_constant=refuse)
    assert "nan" not in (tmp_path / "short" / "limits.csv").read_text().lower()
    for path in (tmp_path / "short").rglob("*"):
        if path.is_file() and path.name != ".lock":
            assert path.stat().st_mode & 0o777 == 0o644, path


def test_predict_refuses_a_result_that_is_not_finite(cli):
    one_line_error(cli("predict", "--mass-MeV", "10", "--g", "1e155"), "not finite")
    one_line_error(cli("predict", "--mass-MeV", "1e-300", "--g", "1e-4"), "mass must lie in")


def test_bad_scheduler_address(cli, tmp_path):
    one_line_error(cli("run", DATA / "tiny.toml", "--out", tmp_path / "x", "--executor",
                        "dask", "--scheduler", "bogus://x:y"), "--scheduler")
    assert not (tmp_path / "x").exists()


def test_workers_stop_when_the_main_process_is_killed(tmp_path):
    """SIGKILL to the main process alone: no process of the run is alive 2 s later."""
    config = (DATA / "tiny.toml").read_text().replace("max_steps = 400", "max_steps = 40000")
    config = config.replace("min_ess = 200", "min_ess = 1e9").replace(
        '"../../priors/', f'"{REPO}/priors/')
    (tmp_path / "long.toml").write_text(config)
    process = subprocess.Popen([sys.executable, "-m", "mcprop", "run", tmp_path / "long.toml",
                                "--out", tmp_path / "run", "--workers", "2", "--quiet"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        children = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(children) < 2:
            children = _children(process.pid)
            time.sleep(0.05)
        assert len(children) >= 2, "the workers did not start"
        time.sleep(1.0)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(2.0)
        alive = [pid for pid in children if _alive(pid)]
        assert not alive
    finally:
        for pid in _children(process.pid):
            os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_nan_never_reaches_a_limit_row():
    from mcprop.inference.diagnostics import Diagnostics
    from mcprop.inference.results import MassResult

    d = Diagnostics(upper=np.nan, upper_mcse=np.inf, median=np.nan, median_mcse=np.nan,
                    lo68=np.nan, hi68=np.nan, ess=10.0, rhat=1.2, tau_steps=np.inf,
                    acceptance=0.2, n_steps=101, burn_in=50, thin=1, converged=False,
                    problems=("short",))
    result = MassResult.from_sampling(0, 1.0, d, 1e-3, {})
    assert result.g_upper is None and result.g_upper_mcse is None and not result.converged
    assert any("g_upper could not be computed" in p for p in result.problems)


def _checkpoint_of_a_killed_run(tmp_path) -> tuple:
    """A run directory killed while masses were in progress, and one of its checkpoints."""
    out = tmp_path / "killed"
    interrupted_run(out, lambda folder: list(folder.glob("checkpoints/m???.npz")))
    (out / ".lock").unlink(missing_ok=True)
    return out, sorted(out.glob("checkpoints/m???.npz"))[0]


@pytest.mark.parametrize("damage", ["walker at 1e30", "longer than max_steps"])
def test_tampered_checkpoint_is_discarded(cli, tiny_run, tmp_path, damage):
    out, path = _checkpoint_of_a_killed_run(tmp_path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    chunk = path.with_name(f"{path.stem}.0000.npz")
    with np.load(chunk) as data:
        history = data["history"]
    if damage == "walker at 1e30":
        arrays["coords"][0, 0, 0] = 1e30
        history[0, -1, 0, 0] = 1e30
        np.savez(chunk, history=history)
    else:
        extra = path.with_name(f"{path.stem}.{int(arrays['n_chunks']):04d}.npz")
        np.savez(extra, history=np.repeat(history[:, -1:], 400, axis=1))
        arrays["n_chunks"] += 1
        arrays["n_steps"] += 400
    np.savez(path, **arrays)
    out_run = cli("run", DATA / "tiny.toml", "--out", out, "--resume", "--quiet", "--workers", 1)
    assert out_run.returncode == 0, out_run.stderr
    assert path.name in out_run.stderr and "checkpoint" in out_run.stderr
    assert _limits(out) == _limits(tiny_run)
