"""``edgekit init`` and ``edgekit build``: a whole pipeline from one declarative edgekit.toml."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, info, json_option

STARTER = '''\
# edgekit.toml: one file describes the whole build; run `edgekit build` next to it.
# Paths are relative to this file. Reference: README.md, section "Build pipelines".

[model]
# A .keras / .h5 file or SavedModel folder, or builtin:digits_cnn (trained on [data] train).
source = "builtin:digits_cnn"

[train]                  # training of a builtin model; the seed makes the build reproducible
epochs = 10
batch_size = 32
learning_rate = 0.001
seed = 0

[data]                   # SPECs: .npz (x, y), .npy, image folders
train = "data/train.npz"
val = "data/val.npz"     # accuracy is measured on this
# calibration = "data/calibration.npz"   # int8 calibration (default: train)
calibration_limit = 200

# Optimization steps, applied in the order written here (qat, if used, comes last).
{optimize}
# [finetune]             # fine-tuning shared by the steps above
# epochs = 2
# learning_rate = 0.0001
# loss = "mse"           # only for a model saved without a loss (default: the model's own)

[convert]
quantize = "int8"        # none | float16 | dynamic | int8 | int16x8
io_type = "float32"      # float32 | int8 | uint8 (int8 only)
# per_tensor = true      # one weight scale per tensor: pruned/clustered models gzip much smaller

[target]
name = "local"           # a profile from `edgekit targets`
# device = "pi@raspberrypi.local"   # measure latency there (else on local, and said so)
runs = 50

[budgets]                # each violated budget fails the build with its own exit code
max_size_kb = 256
# max_gzip_kb = 200
min_accuracy = 0.90
# max_accuracy_drop = 0.02
# max_latency_ms = 5
# max_peak_memory_mb = 300
# max_arena_kb = 64

[export]
c_array = false          # model_data.h/.cc for TensorFlow Lite Micro
'''


def starter() -> str:
    """The template, with one commented [[optimize]] example per registered stage."""
    from edgekit.optimize.stages import stages

    blocks = []
    for stage in stages():
        body = "\n".join(f"# {line}" for line in stage.example.splitlines())
        blocks.append(f"# [[optimize]]           # {stage.name}: {stage.summary}\n{body}\n#")
    return STARTER.replace("{optimize}", "\n".join(blocks))


@click.command("init")
@click.argument("path", default="edgekit.toml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter edgekit.toml."""
    from edgekit.errors import UsageError
    from edgekit.fileio import atomic_write_text

    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it")
    atomic_write_text(path, starter())
    info(f"wrote {path}: edit [data] and [budgets], then run `edgekit build {path}`")


@click.command("build")
@click.argument("config", default="edgekit.toml", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", default="build", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (artifacts, manifest.json, report.html, .cache/).")
@click.option("--storage", default=None, metavar="FORM",
              help="Override [convert] storage: int8, int4 or sparse for the final variant (verified against int8).")
@user_code_options
@json_option
def build(config: Path, out_dir: Path, storage: str | None, as_json: bool) -> None:
    """Build, measure and check a model as CONFIG (edgekit.toml) describes; fail on violated budgets."""
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit build")
    from edgekit.pipeline.budgets import enforce
    from edgekit.pipeline.build import run_build
    from edgekit.pipeline.config import load_config, with_storage

    config_ = load_config(config)
    if storage is not None:
        config_ = with_storage(config_, storage)
    with contextlib.redirect_stdout(sys.stderr):  # TensorFlow prints to stdout; keep it for --json
        result = run_build(config_, out_dir)
    for verdict in result.verdicts:
        info(verdict.line())
    final = result.final
    metric, value = final.quality
    info(f"built {out_dir / 'model.tflite'}: {final.name}, {final.size_bytes / 1024:.1f} KB, "
         f"{metric} {value:.4f}; report {out_dir / 'report.html'}")
    if as_json:
        emit_json(result.manifest)
    enforce(result.verdicts)
