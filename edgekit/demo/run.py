"""The demo flow: train a small CNN on the shipped digits, convert it to float32 and full-int8 TFLite,
evaluate and benchmark both on this machine, record the benchmarks, and write every artifact to ``out``.

Progress lines go to a callback, so the CLI decides where they are printed; TensorFlow is
imported only once the flow runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgekit.optimize.finetune import FINETUNE

VARIANTS = (("float32", "none"), ("int8", "int8"))   # (name, quantize), the baseline first


@dataclass
class DemoResult:
    """What the demo made: the Keras model and one row per converted model (what ``report.json`` holds)."""

    out_dir: Path
    keras_model: Path
    models: list[dict]

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "keras_model": str(self.keras_model), "models": self.models}


def run_demo(out_dir: str | Path = "edgekit-demo", *, epochs: int = 8, seed: int = FINETUNE.seed, threads: int = 1,
             runs: int = 200, warmup: int = 5, progress: Callable[[str], None] = lambda line: None) -> DemoResult:
    """Train, convert, evaluate and benchmark; every benchmark is recorded in the results history."""
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit demo")
    from edgekit.agent.runner import run_local
    from edgekit.convert import convert_file
    from edgekit.evaluate import evaluate_model
    from edgekit.fileio import atomic_write_text
    from edgekit.resources import digits_path
    from edgekit.results import LOCAL_HOST, ResultStore, RunTag

    out = Path(out_dir)
    keras_path = _train(out, epochs, seed, progress)
    store, rows = ResultStore(), []
    for name, quantize in VARIANTS:
        tflite = out / f"digits_{name}.tflite"
        progress(f"[{name}] converting ...")
        conversion = convert_file(keras_path, tflite, quantize=quantize,
                                  calibration=digits_path("train") if quantize == "int8" else None,
                                  io_type="int8" if quantize == "int8" else "float32")
        progress(f"[{name}] evaluating {tflite.name} on digits_val ...")
        accuracy = evaluate_model(tflite, digits_path("val"))
        progress(f"[{name}] benchmarking {tflite.name} locally ({threads} thread(s), {warmup} warmup + {runs} runs) ...")
        bench = run_local(tflite, threads=threads, runs=runs, warmup=warmup)
        run_id = store.tagged(RunTag("bench", f"demo:{name}")).record(bench, target="local", host=LOCAL_HOST)
        rows.append(_row(name, conversion.to_dict(), accuracy.to_dict(), bench, run_id))
    result = DemoResult(out, keras_path, rows)
    atomic_write_text(out / "report.json", json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _train(out: Path, epochs: int, seed: int, progress: Callable[[str], None]) -> Path:
    """The digits CNN trained from ``seed``, saved (atomically) as ``digits.keras``."""
    from edgekit.fileio import atomic_path
    from edgekit.quiet import quiet_output
    from edgekit.resources import digits_path

    progress(f"[train] training the digits CNN on {digits_path('train').name} ({epochs} epochs) ...")
    started = time.perf_counter()
    with quiet_output():  # TensorFlow's start-up and device-probing log lines
        import keras
        import numpy as np

        from edgekit.models import compile_classifier, digits_cnn

        keras.utils.set_random_seed(seed)
        data = np.load(digits_path("train"))
        model = compile_classifier(digits_cnn())
        model.fit(data["x"], data["y"], epochs=epochs, batch_size=32, verbose=0)
    path = out / "digits.keras"
    with atomic_path(path) as tmp:
        model.save(tmp)
    progress(f"[train] done in {time.perf_counter() - started:.1f}s -> {path}")
    return path


def _row(name: str, conversion: dict, accuracy: dict, bench: dict, run_id: int) -> dict:
    timing, memory = bench["timing_ms"], bench["memory_mb"]
    return {
        "name": name, "path": conversion["output"], "quantize": conversion["quantize"],
        "io_type": conversion["io_type"], "size_bytes": conversion["size_bytes"], "sha256": conversion["sha256"],
        "accuracy": accuracy["accuracy"], "correct": accuracy["correct"], "samples": accuracy["samples"],
        "latency_ms": {"p50": timing["p50"], "p90": timing["p90"], "mean": timing["mean"]},
        "peak_rss_mb": memory["peak_rss"], "runtime": bench["runtime"]["name"], "threads": bench["threads"],
        "run_id": run_id,
    }
