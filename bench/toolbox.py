"""The rest of the toolbox on the digits benchmark: one row per technique and the best combined recipe,
median of 3 seeds (``python bench/compression.py --toolbox [--seeds 0 1 2]``).

Per seed: the benchmark's digits CNN (``digits_common.train_base``, that seed), then each
recipe from it, converted to full int8 and measured as in ``compression.py`` (accuracy on
the validation split, raw and ``gzip -9`` bytes). Ternary/binary rows convert with
per-channel scales (one scale per channel puts every ternary channel on {-127, 0, 127},
which gzip codes shortest); the others as ``compression.py`` does. Low-rank details
(ranks, MobileNetV2 latency) are in ``lowrank.py``. Distillation is
compared with the same student trained without the teacher (alpha 0: same data, epochs,
seed and starting weights), for a student derived from the teacher (width multiplier
0.45) and for one trained from random weights.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from digits_common import measure, named_int8_kernels, train_base
from edgekit.convert import convert_model
from edgekit.optimize.distill.config import DistillConfig
from edgekit.optimize.engine import Recipe, optimize
from edgekit.optimize.binary.config import BinaryConfig
from edgekit.optimize.ternary.config import TernaryConfig
from edgekit.optimize.lowrank.config import LowRankConfig
from edgekit.optimize.pruning.config import PruneConfig
from edgekit.optimize.stages import Step
from edgekit.optimize.trainer import Finetune

FINE_TUNE = dict(epochs=10, batch_size=32, learning_rate=1e-4)
# A student starts far from its teacher's function: it trains at the teacher's own learning rate.
STUDENT_TRAINING = dict(epochs=10, batch_size=32, learning_rate=1e-3)
SCRATCH_TRAINING = dict(epochs=30, batch_size=32, learning_rate=1e-3)


def _recipes(seed: int, work: Path) -> dict[str, tuple[Recipe, bool]]:
    """name -> (recipe, per-channel conversion)."""
    tune, student = Finetune(**FINE_TUNE, seed=seed), Finetune(**STUDENT_TRAINING, seed=seed)
    return {
        "ternary": (Recipe([Step("ternary", TernaryConfig())], tune), True),
        "binary": (Recipe([Step("binary", BinaryConfig())], tune), True),
        "distill_0.45": (Recipe([Step("distill", DistillConfig(width_multiplier=0.45))], student), False),
        "lowrank": (Recipe([Step("lowrank", LowRankConfig(ratio=0.5))], tune), False),
        # the smallest at float accuracy: a half-width student, 80% of it pruned in runs, ternary
        "distill_prune_ternary": (Recipe([Step("distill", DistillConfig(width_multiplier=0.5)),
                                          Step("prune", PruneConfig(sparsity=0.8, run_cost=0.3)),
                                          Step("ternary", TernaryConfig())], student), True),
    }


LABELS = {"float32": "float32 (reference)", "ternary": "ternary {-a,0,+a} (ends int8) + int8",
          "binary": "binary {-a,+a} (ends int8) + int8",
          "distill_0.45": "distilled student, width 0.45 (21% of the parameters) + int8",
          "lowrank": "low-rank factorization, parameter ratio 0.5 + int8",
          "distill_prune_ternary": "distill width 0.5 -> 80% pruned (run cost 0.3) -> ternary + int8"}


def scratch_student() -> keras.Model:
    """A digits CNN with 16/32 filters and 48 units (20% of the teacher's parameters), random weights."""
    return keras.Sequential([
        keras.Input((8, 8, 1), name="image"),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"), keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(48, activation="relu", name="fc1"), keras.layers.Dense(10, name="logits")])


def run(seeds: list[int], train, val) -> dict:
    """Every row for every seed, and the medians."""
    work = Path(tempfile.mkdtemp(prefix="edgekit-toolbox-"))
    per_seed = []
    for seed in seeds:
        base, _ = train_base(train, seed)
        rows = {"float32": measure(convert_model(base, quantize="none"), work / f"float32_{seed}.tflite", val)}
        for name, (recipe, per_channel) in _recipes(seed, work).items():
            result = optimize(base, recipe, train, val, progress=lambda line: print(line, file=sys.stderr))
            flatbuffer = convert_model(result.model, quantize="int8", representative=train.x[:200],
                                       per_tensor=not per_channel)
            rows[name] = {**measure(flatbuffer, work / f"{name}_{seed}.tflite", val),
                          "params": result.model.count_params(), "seconds": result.summary["seconds"],
                          "max_values_per_channel": _max_values(flatbuffer)}
        rows["distillation"] = _distillation(base, seed, train, val, work)
        print(f"seed {seed}: {rows}", file=sys.stderr)
        per_seed.append({"seed": seed, **rows})
    names = ["float32", *_recipes(0, work)]
    medians = {name: {key: statistics.median(s[name][key] for s in per_seed)
                      for key in ("accuracy", "bytes", "gzip_bytes")} for name in names}
    for name in names[1:]:
        medians[name]["params"] = per_seed[0][name]["params"]
        medians[name]["max_values_per_channel"] = {
            layer: max(s[name]["max_values_per_channel"][layer] for s in per_seed)
            for layer in per_seed[0][name]["max_values_per_channel"]}
    distill = {kind: {key: statistics.median(s["distillation"][kind][key] for s in per_seed)
                      for key in ("with_teacher", "without_teacher")} | {
                          "params_ratio": per_seed[0]["distillation"][kind]["params_ratio"]}
               for kind in per_seed[0]["distillation"]}
    return {"seeds": seeds, "fine_tune": FINE_TUNE, "student_training": STUDENT_TRAINING,
            "scratch_training": SCRATCH_TRAINING, "median": medians, "distillation": distill, "per_seed": per_seed}


def _distillation(teacher: keras.Model, seed: int, train, val, work: Path) -> dict:
    """Accuracy of each student with the teacher (alpha 0.5, T 4) and without (alpha 0), same everything else."""
    scratch = work / f"scratch_student_{seed}.keras"
    keras.utils.set_random_seed(seed)
    scratch_student().save(scratch)
    students = {"width_0.45": (DistillConfig(width_multiplier=0.45), STUDENT_TRAINING),
                "width_0.25": (DistillConfig(width_multiplier=0.25), STUDENT_TRAINING),
                "scratch": (DistillConfig(student=str(scratch)), SCRATCH_TRAINING)}
    out = {}
    for kind, (config, training) in students.items():
        accuracy = {}
        for label, alpha in (("with_teacher", 0.5), ("without_teacher", 0.0)):
            step = Step("distill", DistillConfig(config.student, config.width_multiplier, alpha, config.temperature))
            result = optimize(teacher, Recipe([step], Finetune(**training, seed=seed)), train, val)
            accuracy[label] = result.summary["accuracy_after"]
            params = result.model.count_params()
        out[kind] = {**accuracy, "params_ratio": round(params / teacher.count_params(), 4)}
    return out


def _max_values(flatbuffer: bytes) -> dict[str, int]:
    """Per int8 kernel of the file (by its Keras layer): the most distinct values in one output channel."""
    found = {}
    for name, kernel in named_int8_kernels(flatbuffer):
        layer = next((part for part in ("conv1", "conv2", "fc1", "logits") if part in name), name)
        found[layer] = max(len(np.unique(row)) for row in kernel.reshape(kernel.shape[0], -1))
    return found


def markdown(result: dict) -> str:
    m = result["median"]
    float_gzip, float_acc = m["float32"]["gzip_bytes"], m["float32"]["accuracy"]
    lines = [f"Median of seeds {', '.join(map(str, result['seeds']))}.", "",
             "| recipe | accuracy | vs float | bytes | gzip -9 | x smaller (gzip) | params "
             "| int8 values per channel (conv1 conv2 fc1 logits) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, row in m.items():
        found = row.get("max_values_per_channel", {})
        values = " ".join(str(found[layer]) for layer in ("conv1", "conv2", "fc1", "logits") if layer in found)
        lines.append(f"| {LABELS[name]} | {row['accuracy']:.2%} | {100 * (row['accuracy'] - float_acc):+.2f} pts | "
                     f"{row['bytes'] / 1000:.1f} KB | {row['gzip_bytes'] / 1000:.1f} KB | "
                     f"{float_gzip / row['gzip_bytes']:.1f}x | {row.get('params', '')} | {values} |")
    lines += ["", "| distillation student | params vs teacher | with teacher (a 0.5, T 4) | without teacher |",
              "|---|---:|---:|---:|"]
    for kind, row in result["distillation"].items():
        lines.append(f"| {kind} | {row['params_ratio']:.1%} | {row['with_teacher']:.2%} | "
                     f"{row['without_teacher']:.2%} |")
    return "\n".join(lines)
