"""Benchmark of issue 6: QAT, QAT after pruning, filter pruning, auto mixed precision.

Run: ``PYTHONPATH=. python bench/qat_filters.py`` (a few minutes on 2 cores). Writes
``bench/results/qat.json``. Every figure is measured here, on the shipped digits data,
with the real converter and LiteRT runtime; latency comes from the benchmark agent.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from edgekit.fileio import atomic_write_bytes, atomic_write_text
from edgekit.resources import digits_path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "qat.json"


def accuracy(tflite: bytes, x, y) -> float:
    from edgekit.convert.selective import predict

    return round(100.0 * float((predict(tflite, x).argmax(1) == y).mean()), 2)


def int8(model, calibration) -> bytes:
    from edgekit.convert import selective

    return selective.quantize(selective.calibrate(model, calibration))


def keras_accuracy(model, x, y) -> float:
    return round(100.0 * float((np.asarray(model.predict(x, verbose=0)).argmax(1) == y).mean()), 2)


def trained_cnn(x, y, epochs: int):
    import keras

    from edgekit.models import compile_classifier, digits_cnn

    keras.utils.set_random_seed(0)
    model = compile_classifier(digits_cnn())
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def copy(model):
    import keras

    from edgekit.models import compile_classifier

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return compile_classifier(clone, 1e-4)


def bench_qat(data) -> dict:
    from edgekit.optimize.qat import QATConfig, quantization_aware_training

    x, y, xv, yv = data
    base = trained_cnn(x, y, epochs=10)
    calibration = x[:512]
    ptq = accuracy(int8(base, calibration), xv, yv)
    tuned = copy(base)
    tuned.fit(x, y, epochs=3, batch_size=32, verbose=0)          # same extra training, no quantization
    result = quantization_aware_training(copy(base), QATConfig(), x, y, epochs=3)
    qat_tflite = int8(result.model, result.calibration)
    qat_logits = np.asarray(result.qat_model.predict(xv, verbose=0))
    from edgekit.convert.selective import predict

    agree = float((predict(qat_tflite, xv).argmax(1) == qat_logits.argmax(1)).mean())
    return {
        "float_accuracy": keras_accuracy(base, xv, yv),
        "float_finetuned_3ep_accuracy": keras_accuracy(tuned, xv, yv),
        "ptq_int8_accuracy": ptq,
        "qat_model_accuracy": round(100.0 * float((qat_logits.argmax(1) == yv).mean()), 2),
        "qat_int8_accuracy": accuracy(qat_tflite, xv, yv),
        "qat_vs_int8_prediction_agreement": round(agree, 4),
        "qat_epochs": 3,
    }


def bench_pqat(data) -> dict:
    from edgekit.optimize.qat import QATConfig, quantization_aware_training

    x, y, xv, yv = data
    model = copy(trained_cnn(x, y, epochs=10))
    for layer in model.layers:           # one-shot 80% magnitude pruning, then masked QAT recovers
        if hasattr(layer, "kernel"):
            kernel, bias = (np.asarray(w) for w in layer.weights)
            kernel[np.abs(kernel) < np.quantile(np.abs(kernel), 0.8)] = 0.0
            layer.set_weights([kernel, bias])
    result = quantization_aware_training(model, QATConfig(), x, y, epochs=3, learning_rate=1e-3)
    tflite = int8(result.model, result.calibration)
    weights = _int8_weights(tflite)
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.size for w in weights)
    return {"sparsity_target": 0.8, "int8_weight_zero_fraction": round(zeros, 4),
            "pqat_int8_accuracy": accuracy(tflite, xv, yv), "qat_epochs": 3, "qat_learning_rate": 1e-3,
            "tflite_bytes": len(tflite)}


def _int8_weights(tflite: bytes) -> list[np.ndarray]:
    from edgekit.inspect import read_tflite

    return [t.data for t in read_tflite(tflite).subgraphs[0].tensors
            if t.data is not None and t.dtype == "int8" and len(t.shape) >= 2]


def bench_filters_digits(data) -> dict:
    from edgekit.optimize.filters import FilterPruneConfig, prune_filters

    x, y, xv, yv = data
    base = trained_cnn(x, y, epochs=10)
    result = prune_filters(base, FilterPruneConfig(0.5))
    pruned = copy(result.model)
    pruned.optimizer.learning_rate.assign(1e-3)
    before_tune = keras_accuracy(pruned, xv, yv)
    pruned.fit(x, y, epochs=6, batch_size=32, verbose=0)
    size_base, size_pruned = len(int8(base, x[:256])), len(int8(pruned, x[:256]))
    return {
        "params_before": result.params_before, "params_after": result.params_after,
        "params_ratio": round(result.params_after / result.params_before, 4),
        "int8_tflite_bytes_before": size_base, "int8_tflite_bytes_after": size_pruned,
        "tflite_size_ratio": round(size_pruned / size_base, 4),
        "float_accuracy_before": keras_accuracy(base, xv, yv),
        "accuracy_pruned_before_finetune": before_tune,
        "accuracy_pruned_after_finetune_6ep": keras_accuracy(pruned, xv, yv),
        "channels": {k: list(v) for k, v in result.channels.items()},
    }


def bench_filters_mobilenet() -> dict:
    import keras

    from edgekit.optimize.filters import FilterPruneConfig, prune_filters

    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3), classes=10)
    result = prune_filters(base, FilterPruneConfig(0.5, criterion="bn"))
    calibration = np.random.default_rng(0).random((16, 96, 96, 3), dtype=np.float32)
    out = {"params_before": result.params_before, "params_after": result.params_after,
           "params_ratio": round(result.params_after / result.params_before, 4)}
    measured = _size_and_latency({"before": int8(base, calibration), "after": int8(result.model, calibration)})
    for label in ("before", "after"):
        out[f"int8_tflite_bytes_{label}"] = measured[f"{label}_tflite_bytes"]
        out[f"latency_ms_{label}"] = measured[f"{label}_latency_ms"]
    out["tflite_size_ratio"] = round(out["int8_tflite_bytes_after"] / out["int8_tflite_bytes_before"], 4)
    out["latency_ratio_p50"] = round(out["latency_ms_after"]["p50"] / out["latency_ms_before"]["p50"], 4)
    return out


def bench_auto_mixed(data) -> dict:
    from edgekit.models import make_int8_fragile
    from edgekit.convert.sensitivity import analyze, auto_mixed

    x, y, xv, yv = data
    model = make_int8_fragile(trained_cnn(x, y, epochs=10))
    report = analyze(model, xv, yv, x[:256])
    mixed = auto_mixed(model, xv, yv, x[:256], max_drop=0.5)
    out = {
        "float_accuracy": round(100 * mixed.float_accuracy, 2),
        "full_int8_accuracy": round(100 * mixed.full_int8_accuracy, 2),
        "full_int8_drop_points": round(100 * (mixed.float_accuracy - mixed.full_int8_accuracy), 2),
        "mixed_accuracy": round(100 * mixed.accuracy, 2), "mixed_drop_points": round(mixed.drop, 2),
        "kept_float": mixed.kept_float,
        "sensitivity_order": [(s.layer, s.only_sqnr_db) for s in report.layers],
    }
    out.update(_size_and_latency({"full_int8": int8(model, x[:256]), "mixed": mixed.tflite}))
    return out


def _size_and_latency(models: dict[str, bytes]) -> dict:
    """``<label>_tflite_bytes`` and ``<label>_latency_ms`` (agent, 1 thread, 50 runs) per model."""
    from edgekit.agent.runner import run_local

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, tflite in models.items():
            path = atomic_write_bytes(Path(tmp) / f"{label}.tflite", tflite)
            timing = run_local(path, threads=1, runs=50, warmup=5)["timing_ms"]
            out[f"{label}_tflite_bytes"] = len(tflite)
            out[f"{label}_latency_ms"] = {k: round(timing[k], 3) for k in ("mean", "p50", "p90")}
    return out


def main() -> int:
    train, val = np.load(digits_path("train")), np.load(digits_path("val"))
    data = (train["x"], train["y"], val["x"], val["y"])
    results = {}
    for name, run in [("qat_digits", lambda: bench_qat(data)), ("pqat_digits_80", lambda: bench_pqat(data)),
                      ("filters_digits_50", lambda: bench_filters_digits(data)),
                      ("filters_mobilenetv2_50", bench_filters_mobilenet),
                      ("auto_mixed_0.5", lambda: bench_auto_mixed(data))]:
        start = time.perf_counter()
        results[name] = run()
        results[name]["seconds"] = round(time.perf_counter() - start, 1)
        print(name, json.dumps(results[name]), file=sys.stderr)
    atomic_write_text(OUT, json.dumps(results, indent=2) + "\n")
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
