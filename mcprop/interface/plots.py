"""Plots: limit curves of runs."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mcprop.interface.store import RunDirectory, read_config  # noqa: E402


def plot_runs(run_dirs: list[Path], out: Path) -> Path:
    """Log-log limit curves g_90(m) of one or more runs."""
    fig, ax = plt.subplots(figsize=(7, 5), dpi=150)
    for root in run_dirs:
        run = RunDirectory.open(root)
        results = run.results()
        name = read_config(run)["name"]
        ax.plot([r["m_zprime_MeV"] for r in results], [r["g_upper"] for r in results],
                label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$m_{Z'}$ [MeV]")
    ax.set_ylabel(r"$g$ (90% C.L. upper limit)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
