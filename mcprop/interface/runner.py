"""``mcprop run``: a sampling run over the mass grid of a config, into a run directory."""

import logging
import tomllib
from pathlib import Path

from tqdm import tqdm

from mcprop.inference.scan import make_executor, run_scan
from mcprop.interface.config import RunConfig, load_config, resolve_config
from mcprop.interface.errors import UserError
from mcprop.interface.plots import plot_runs
from mcprop.interface.store import RunDirectory, now

log = logging.getLogger("mcprop")


def configure(path: Path, seed: int | None, out: Path | None) -> RunConfig:
    """Load a config, with the command line's --seed and --out applied."""
    config = load_config(path)
    if seed is None and out is None:
        return config
    document = tomllib.loads(Path(path).read_text())
    if seed is not None:
        document.setdefault("sampler", {})["seed"] = seed
    if out is not None:
        document.setdefault("output", {})["directory"] = str(Path(out).resolve())
    return resolve_config(document, config.path)


def _summary(result: dict) -> dict:
    """What the manifest records of a finished mass."""
    return {key: result.get(key) for key in ("m_zprime_MeV", "g_upper", "converged",
                                              "problems")}


def run(config: RunConfig, argv: list[str], resume: bool = False, force: bool = False,
        executor: str = "local", workers: int = 2, scheduler: str | None = None,
        quiet: bool = False) -> RunDirectory:
    """Sample every mass of ``config`` and write the run directory; returns it."""
    plan = config.plan
    n_masses = len(plan.masses_MeV)
    if resume and config.output_dir.exists():
        store = RunDirectory.open(config.output_dir)
        manifest = store.manifest()
        if manifest.get("config_hash") != config.config_hash:
            raise UserError(f"{store.root}: was run with a different config or prior files "
                            f"(config hash differs); start it again with --force")
        done = store.finished_results(n_masses)
        manifest.setdefault("resumed", []).append(now())
    else:
        store = RunDirectory.create(config, force=force)
        manifest = store.new_manifest(config, argv)
        done = {}
    manifest.update(executor=executor, workers=workers, finished=None)
    store.write_manifest(manifest)
    results = dict(done)
    log.info("%s: %d masses from %g to %g MeV, %d already done; writing to %s", config.name,
             n_masses, plan.masses_MeV[0], plan.masses_MeV[-1], len(done), store.root)

    with tqdm(total=n_masses, initial=len(done), unit="mass", disable=quiet,
              desc=config.name) as bar:
        def on_result(result: dict) -> None:
            results[result["mass_index"]] = result
            manifest["masses"][str(result["mass_index"])] = _summary(result)
            store.write_manifest(manifest)
            store.write_limits([results[i] for i in sorted(results)], config.resolved)
            if not result["converged"]:
                log.warning("m = %.4g MeV did not converge: %s", result["m_zprime_MeV"],
                            "; ".join(result["problems"]))
            bar.update(1)

        for result in done.values():
            manifest["masses"][str(result["mass_index"])] = _summary(result)
        with make_executor(executor, workers, scheduler) as pool:
            ordered = run_scan(plan, store.files_for, pool, done, on_result)

    store.write_limits(ordered, config.resolved)
    plot_runs([store.root], store.plot_file)
    manifest["finished"] = now()
    manifest["n_converged"] = sum(r["converged"] for r in ordered)
    store.write_manifest(manifest)
    return store
