"""``edgekit init``: a commented edgekit.toml that builds as written, with the data it names.

The template names ``data/train.npz`` and ``data/val.npz`` next to the file; :func:`write_starter`
copies the shipped digits set there (unless files of those names exist), so ``edgekit
init && edgekit build`` works before the user has brought any data of their own.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import UsageError
from edgekit.fileio import atomic_write_bytes, atomic_write_text

STARTER = '''\
# edgekit.toml: one file describes the whole build; run `edgekit build` next to it.
# Paths are relative to this file. Reference: docs/build.md, "edgekit.toml reference".

[model]
# A .keras / .h5 file or SavedModel folder, or builtin:digits_cnn (trained on [data] train).
source = "builtin:digits_cnn"

[train]                  # training of a builtin model; the seed makes the build reproducible
epochs = 10
batch_size = 32
learning_rate = 0.001
seed = 0

[data]                   # SPECs: .npz (x, y), .npy, image folders
train = "data/train.npz"  # `edgekit init` put the shipped digits set here; use your own
val = "data/val.npz"     # accuracy is measured on this
# calibration = "data/calibration.npz"   # int8 calibration (default: train)
calibration_limit = 200

# Optimization steps, applied in the order written here (qat, if used, comes last).
{optimize}
# [finetune]             # fine-tuning shared by the steps above (the defaults shown)
# epochs = {epochs}
# learning_rate = 0.001  # default: the model's saved Adam rate, else a range test's
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
# max_latency_ms = 5     # p50 of the timed runs
# max_p90_ms = 8
# max_peak_memory_mb = 300
# max_arena_kb = 64

[export]
c_array = false          # model_data.h/.cc for TensorFlow Lite Micro
'''


# The data files the template names, relative to it -> the shipped split copied there.
STARTER_DATA = {"data/train.npz": "train", "data/val.npz": "val"}


def starter() -> str:
    """The template, with one commented [[optimize]] example per registered stage."""
    from edgekit.optimize.finetune import FINETUNE
    from edgekit.optimize.stages import stages

    blocks = []
    for stage in stages():
        body = "\n".join(f"# {line}" for line in stage.example.splitlines())
        blocks.append(f"# [[optimize]]           # {stage.name}: {stage.summary}\n{body}\n#")
    filled = {"optimize": "\n".join(blocks), "epochs": FINETUNE.epochs}
    text = STARTER
    for key, value in filled.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def write_starter(path: str | Path, *, force: bool = False) -> list[Path]:
    """Write the template to ``path`` and the shipped data next to it (existing data is kept): the files written."""
    from edgekit.resources import digits_path

    path = Path(path)
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it")
    written = [atomic_write_text(path, starter())]
    for relative, split in STARTER_DATA.items():
        target = path.parent / relative
        if not target.exists():
            written.append(atomic_write_bytes(target, digits_path(split).read_bytes()))
    return written
