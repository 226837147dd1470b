"""How fast ``edgekit inspect`` starts and reads models (run on demand, not a test).

Measures, as real subprocesses (start-up included): ``edgekit --help``, ``edgekit inspect``
on the small full-int8 digits model of the test zoo, and ``edgekit inspect --json`` on a
Keras MobileNetV2 (weights=None, 224x224, float32 TFLite, 3.5 M parameters). Prints the
figures and writes them to ``bench/results/inspect_speed.json``.

    python bench/inspect_speed.py [--repeat 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def mobilenet_v2(directory: Path) -> Path:
    path = directory / "mobilenet_v2_float32.tflite"
    if not path.is_file():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import tensorflow as tf

        from edgekit.fileio import atomic_write_bytes

        model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
        atomic_write_bytes(path, tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def wall_ms(args: list[str], repeat: int) -> dict:
    """Median/min wall time of ``python -m edgekit ARGS`` over ``repeat`` runs."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "edgekit", *args], env=env, check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1), "runs": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "edgekit-bench-inspect")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from helpers import tflite_zoo

    small = tflite_zoo.build("int8_digits", args.workdir)
    large = mobilenet_v2(args.workdir)
    from edgekit.inspect import inspect_model, read_tflite

    start = time.perf_counter()
    model = read_tflite(large)
    parse_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    report = inspect_model(model)
    report_ms = (time.perf_counter() - start) * 1000
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "help": wall_ms(["--help"], args.repeat),
        "inspect_small": {"model": small.name, "size_bytes": small.stat().st_size,
                          **wall_ms(["inspect", str(small)], args.repeat)},
        "inspect_mobilenet_v2": {
            "model": large.name, "size_bytes": large.stat().st_size, "tensors": len(model.main.tensors),
            "operators": len(model.main.operators), "weight_tensors": len(report.weights),
            "in_process_parse_ms": round(parse_ms, 1), "in_process_report_ms": round(report_ms, 1),
            **wall_ms(["inspect", "--json", str(large)], args.repeat),
        },
    }
    print(json.dumps(results, indent=2))
    from edgekit.fileio import atomic_write_text

    atomic_write_text(ROOT / "bench" / "results" / "inspect_speed.json", json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
