"""Where exports and figures are written, and the files they read beside a run (overlays):
an export or figure never replaces a symlink, a FIFO or a folder, never writes into the run it
reads, and a target it cannot write is one error line with nothing written."""

import os
from pathlib import Path

import pytest
from conftest import (
    assert_one_line_error,
    one_line_error,
    snapshot,
)

import mcprop
from mcprop.interface.plots import read_overlay

# --- exports -------------------------------------------------------------------------------------


def test_export_into_read_only_folder(cli, tiny_run, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    target = folder / "limits.csv"
    target.write_text("an older export\n")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user (root) from writing")
        before = snapshot(tmp_path)
        result = cli("export", tiny_run, "--format", "csv", "--out", target)
        assert_one_line_error(result, target, "cannot write")
        assert snapshot(tmp_path) == before
    finally:
        folder.chmod(0o755)


def test_export_into_missing_folder(cli, tiny_run, tmp_path):
    target = tmp_path / "no-such-folder" / "limits.csv"
    result = cli("export", tiny_run, "--format", "csv", "--out", target)
    assert_one_line_error(result, target, "cannot write")
    assert list(tmp_path.iterdir()) == []


def test_export_onto_a_folder(cli, tiny_run, tmp_path):
    target = tmp_path / "limits.yaml"
    target.mkdir()
    (target / "keep.txt").write_text("keep\n")
    before = snapshot(tmp_path)
    result = cli("export", tiny_run, "--format", "hepdata", "--out", target)
    assert_one_line_error(result, target, "cannot write")
    assert snapshot(tmp_path) == before


def test_export_never_replaces_a_symlink_or_a_fifo(cli, tiny_run, tmp_path):
    target = tmp_path / "mine.csv"
    target.write_text("my data\n")
    (tmp_path / "link.csv").symlink_to(target)
    os.mkfifo(tmp_path / "fifo")
    before = snapshot(tmp_path)
    for name in ("link.csv", "fifo"):
        out = cli("export", tiny_run, "--format", "csv", "--out", tmp_path / name)
        one_line_error(out, name, "cannot write")
        assert out.stdout == ""
    assert snapshot(tmp_path) == before
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "fifo").is_fifo()


@pytest.mark.parametrize("name", ["manifest.json", "results/m000.json", "new.csv"])
def test_export_refuses_to_write_into_the_run_it_reads(cli, tiny_run, copy_run, name):
    run = copy_run(tiny_run)
    before = snapshot(run)
    one_line_error(cli("export", run, "--format", "json", "--out", run / name),
                    "inside the run directory")
    assert snapshot(run) == before


def test_hepdata_submission_to_a_relative_folder(cli, tiny_run, tmp_path):
    out = cli("export", tiny_run, "--format", "hepdata-submission", "--out", "sub",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sub" / "submission.yaml").is_file()
    assert (tmp_path / "sub" / "submission.tar.gz").is_file()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        path = mcprop.load(tiny_run).to_hepdata("api-sub")
    assert (tmp_path / "api-sub" / "submission.yaml").is_file()
    assert path.resolve() == (tmp_path / "api-sub").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api-sub", "sub"]  # no staging

# --- figures and overlays ------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["plot"], ["corner", "--mass-MeV", "1"]])
def test_figures_never_replace_a_symlink(cli, tiny_run, tmp_path, command):
    target = tmp_path / "mine.png"
    target.write_bytes(b"my figure")
    (tmp_path / "link.png").symlink_to(target)
    before = snapshot(tmp_path)
    out = cli(command[0], tiny_run, *command[1:], "--out", tmp_path / "link.png")
    one_line_error(out, "link.png", "symlink")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["/dev/zero", "a FIFO"])
def test_overlay_that_is_not_a_regular_file(cli, tiny_run, copy_run, tmp_path, fifo, kind):
    run = copy_run(tiny_run)
    overlay = Path("/dev/zero") if kind == "/dev/zero" else fifo(tmp_path / "overlay.csv")
    before = snapshot(tmp_path)
    result = cli("plot", run, "--overlay", overlay, "--out", tmp_path / "curve.png")
    assert_one_line_error(result, overlay, "not a regular file")
    assert snapshot(tmp_path) == before


def test_overlay_label_that_is_not_mathtext(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    overlay = tmp_path / "overlay.csv"
    overlay.write_text("m_zprime_MeV,g\n1,1e-4\n10,1e-3\n")
    before = snapshot(tmp_path)
    result = cli("plot", run, "--overlay", f"{overlay}:$\\frac$", "--out", tmp_path / "x.png")
    assert_one_line_error(result, "overlay.csv", "overlay label $\\frac$", "not valid mathtext")
    assert snapshot(tmp_path) == before


def test_overlay_with_a_byte_order_mark_keeps_its_first_row(tmp_path):
    path = tmp_path / "curve.csv"
    path.write_bytes("1.0,1e-4\n10,2e-4\n100,3e-4\n".encode("utf-8-sig"))
    overlay = read_overlay(str(path))
    assert list(overlay.masses_MeV) == [1.0, 10.0, 100.0]
    assert list(overlay.g) == [1e-4, 2e-4, 3e-4]
