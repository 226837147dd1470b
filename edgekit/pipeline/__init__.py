"""``edgekit build``: one declarative edgekit.toml -> a measured, budget-checked model.

    config.py    edgekit.toml -> typed sections (errors name file:line and key)
    run.py       run_build: picks the build for the source (Keras model or float .tflite) and runs it
    build.py     the stages (train/load, optimize, convert, evaluate, arena, edgetpu, bench)
    tflite_build.py  a float .tflite source: AI Edge Quantizer makes the variants, build.py's stages the rest
    cache.py     stage cache keyed by content hashes
    budgets.py   limits, verdicts (off-target ones shown, not judged) and their exit codes (10-20)
    manifest.py  manifest.json (reproducible part + a separate timing section)
    report.py    report.html (self-contained, inline SVG)
    progress.py  one stderr line per stage
    starter.py   `edgekit init`: the commented template and the shipped data it builds on

Importing this package does not import TensorFlow.
"""
