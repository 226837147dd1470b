"""``edgekit init`` and ``edgekit build``: a whole pipeline from one declarative edgekit.toml."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from edgekit.cli.finetune_options import seed_option
from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, info, json_option, warn


@click.command("init")
@click.argument("path", default="edgekit.toml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter edgekit.toml (and the shipped digits data it builds on as it is)."""
    from edgekit.pipeline.starter import write_starter

    written = write_starter(path, force=force)
    info(f"wrote {', '.join(str(p) for p in written)}: `edgekit build {path}` builds the digits example as it "
         "is; point [data] at your own data and edit [budgets]")


@click.command("build")
@click.argument("config", default="edgekit.toml", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (artifacts, manifest.json, report.html, .cache/).")
@click.option("--storage", default=None, metavar="FORM",
              help="Override [convert] storage: int8, int4 or sparse for the final variant (verified against int8).")
@seed_option(None, help="Override [train] seed, the seed of every random step of the build.")
@user_code_options
@json_option
def build(config: Path, out_dir: Path, storage: str | None, seed: int | None, as_json: bool) -> None:
    """Build, measure and check a model as CONFIG (edgekit.toml) describes; fail on violated budgets."""
    from edgekit.pipeline.budgets import enforce
    from edgekit.pipeline.run import build_file

    with contextlib.redirect_stdout(sys.stderr):  # TensorFlow prints to stdout; keep it for --json
        result = build_file(config, out_dir, storage=storage, seed=seed)
    for verdict in result.verdicts:
        info(verdict.line())
    final = result.final
    metric, value = final.quality
    warn(result.manifest["model"]["not_verified"])
    warn(result.manifest["warning"])
    info(f"built {out_dir / 'model.tflite'}: {final.name}, {final.size_bytes / 1024:.1f} KB, "
         f"{metric} {value:.4f}; report {out_dir / 'report.html'}")
    info(result.manifest["drop"]["line"] + f" ({result.baseline.name} → {final.name})")
    if as_json:
        emit_json(result.manifest)
    enforce(result.verdicts)
