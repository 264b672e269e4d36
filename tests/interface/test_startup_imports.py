"""The main process of a run reads its config and builds its posterior without loading the
sampling stack: emcee (which imports scipy.stats for its KDE move) and h5py are imported
where blocks are sampled, in the workers."""

import subprocess
import sys

#: Loaded only where blocks are sampled.
SAMPLING_STACK = ("emcee", "h5py", "mcprop.inference.sampler")


def test_reading_a_config_and_building_its_posterior_leave_out_the_sampler():
    script = ("import sys\n"
              "from mcprop.interface import cli, runner\n"
              "from mcprop.interface.config import load_config\n"
              "load_config('borexino-phase1').plan.posterior()\n"
              f"print('imported:', *(m for m in {SAMPLING_STACK!r} if m in sys.modules),\n"
              "      file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "imported:"
