"""MobileNetV2 (224x224, weights=None) float32 vs full-int8: size and local latency.

The int8 model is calibrated on real data: the shipped digits, upscaled to 224x224 and
repeated over 3 channels in MobileNetV2's [-1, 1] input range. Latency comes from the
benchmark agent (``edgekit.agent.runner.run_local``) at 1 and 2 threads. Figures are
printed and written to ``bench/results/mobilenet.json``.

    python bench/mobilenet.py [--runs 50] [--calibration-samples 100]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from edgekit.agent.runner import run_local
from edgekit.fileio import atomic_write_bytes, atomic_write_text
from edgekit.resources import digits_path

RESULTS = Path(__file__).resolve().parent / "results" / "mobilenet.json"


def calibration_images(samples: int) -> np.ndarray:
    """Digits 8x8x1 in [0, 1] -> 224x224x3 in [-1, 1] (MobileNetV2's preprocessing)."""
    import tensorflow as tf

    digits = np.load(digits_path("train"))["x"][:samples]
    images = tf.image.resize(digits, (224, 224), method="bilinear").numpy()
    return np.repeat(images, 3, axis=-1).astype(np.float32) * 2.0 - 1.0


def build_models(samples: int, out: Path) -> dict[str, Path]:
    import keras

    from edgekit.convert import convert_model

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    paths = {}
    for name, kwargs in (("float32", {}),
                         ("int8", {"quantize": "int8", "io_type": "int8",
                                   "representative": calibration_images(samples)})):
        start = time.perf_counter()
        data = convert_model(model, **kwargs)
        paths[name] = atomic_write_bytes(out / f"mobilenet_v2_{name}.tflite", data)
        print(f"converted {name}: {len(data):,} bytes in {time.perf_counter() - start:.1f}s", flush=True)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--calibration-samples", type=int, default=100)
    args = parser.parse_args()

    rows = []
    load_before = os.getloadavg()[0]  # latency on a shared machine is only as good as its idle time
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in build_models(args.calibration_samples, Path(tmp)).items():
            for threads in (1, 2):
                result = run_local(path, threads=threads, runs=args.runs, warmup=args.warmup)
                t, m = result["timing_ms"], result["memory_mb"]
                rows.append({"model": name, "size_bytes": result["model"]["size_bytes"],
                             "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "threads": threads,
                             "runs": t["runs"], "mean_ms": t["mean"], "p50_ms": t["p50"], "p90_ms": t["p90"],
                             "std_ms": t["std"], "init_ms": t["init"], "peak_rss_mb": m["peak_rss"],
                             "runtime": f"{result['runtime']['name']} {result['runtime']['version']}"})
    host = result["host"]
    report = {"model": "keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))",
              "calibration": f"{args.calibration_samples} shipped digits upscaled to 224x224x3",
              "host": {k: host[k] for k in ("arch", "cpu_model", "cpu_count", "python", "numpy")},
              "platform": platform.platform(),
              "load_avg_1m": {"before": load_before, "after": os.getloadavg()[0]}, "results": rows}
    atomic_write_text(RESULTS, json.dumps(report, indent=2) + "\n")

    print(f"\n{'model':8} {'size':>12} {'threads':>7} {'mean ms':>9} {'p50 ms':>9} {'p90 ms':>9} {'peak MB':>8}")
    for r in rows:
        print(f"{r['model']:8} {r['size_bytes']:>12,} {r['threads']:>7} {r['mean_ms']:>9.2f} {r['p50_ms']:>9.2f} "
              f"{r['p90_ms']:>9.2f} {r['peak_rss_mb']:>8.1f}")
    f32, i8 = (next(r for r in rows if r["model"] == k and r["threads"] == 1) for k in ("float32", "int8"))
    print(f"\nint8 is {100 * i8['size_bytes'] / f32['size_bytes']:.1f}% of float32's size, "
          f"{f32['mean_ms'] / i8['mean_ms']:.2f}x its speed at 1 thread (1-min load average "
          f"{load_before:.2f} before, {report['load_avg_1m']['after']:.2f} after); written to {RESULTS}")


if __name__ == "__main__":
    main()
