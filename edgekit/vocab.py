"""The words edgekit's options accept, in one place that both the CLI and the library read.

A stage's own words (cluster inits, prune schedules, ...) live in its ``config.py`` beside
the setting they are for; the stage registry hands them to the CLI and the docs.

Standard library only (no NumPy, TensorFlow or Keras), so a command module can build its
``click.Choice`` lists at import time without loading the code that acts on them, and a
new mode is added once rather than in a CLI copy and a library copy that can drift apart.
"""

from __future__ import annotations

QUANTIZE_MODES = ("none", "float16", "dynamic", "int8", "int16x8")
CALIBRATED_MODES = ("int8", "int16x8")        # the modes that need representative inputs
IO_TYPES = ("float32", "int8", "uint8")      # inputs/outputs; int8/uint8 only with full-int8
# fine-tuning losses a user may name (--loss, [finetune] loss); edgekit.tasks maps each to its task
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "mse", "mae")

# edgekit tune: Optuna's samplers by name, and which size a search minimises (the .tflite's or its gzip's)
TUNE_SAMPLERS = ("nsga2", "tpe")
# how a search cuts hopeless trials from their per-epoch validation accuracy (edgekit.tune.pruners); the first
# is the default
TUNE_PRUNERS = ("halving", "median", "hyperband", "none")
SIZE_OBJECTIVES = ("gzip", "raw")

# Weight storage forms as target profiles list them (``storage``): the forms a runtime runs
# correctly. Scale layouts some runtimes get wrong are their own entries.
STORAGE_CAPABILITIES = ("int8", "int4", "int4-fc-per-channel", "sparse", "sparse-per-channel", "lut",
                        "lut-per-tensor-on-per-channel", "int4-dequantize", "int8-fc-per-channel-hybrid")

__all__ = ["CALIBRATED_MODES", "IO_TYPES", "LOSSES", "QUANTIZE_MODES", "SIZE_OBJECTIVES", "STORAGE_CAPABILITIES",
           "TUNE_PRUNERS",
           "TUNE_SAMPLERS"]
