"""``edgekit demo``: the whole job on the shipped digits data, with no arguments.

Train a small CNN, convert it to float32 and full-int8 TFLite, evaluate and benchmark
both on this machine, print one comparison table, leave every artifact in ``--out``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from edgekit.cli.finetune_options import seed_option
from edgekit.cli.output import emit_json, info, json_option
from edgekit.optimize.finetune import FINETUNE

_VARIANTS = (("float32", "none"), ("int8", "int8"))


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="edgekit-demo", show_default=True,
              help="Directory for the trained model, the .tflite files and report.json.")
@click.option("--epochs", type=click.IntRange(min=1), default=8, show_default=True,
              help="Training epochs of the CNN (from scratch, not a fine-tune).")
@seed_option(FINETUNE.seed)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Benchmark threads.")
@click.option("--runs", type=click.IntRange(min=1), default=200, show_default=True, help="Timed benchmark runs.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Benchmark warmup runs.")
@json_option
def demo(out_dir: str, epochs: int, seed: int, threads: int, runs: int, warmup: int, as_json: bool) -> None:
    """Train, convert (float32, int8), evaluate and benchmark a digits CNN; compare them."""
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit demo")
    from edgekit.agent.runner import run_local
    from edgekit.convert import convert_file
    from edgekit.evaluate import evaluate_model
    from edgekit.fileio import atomic_write_text
    from edgekit.resources import digits_path
    from edgekit.results import LOCAL_HOST, ResultStore

    out = Path(out_dir)
    keras_path = _train(out, epochs, seed)
    store, rows = ResultStore(), []
    for name, quantize in _VARIANTS:
        tflite = out / f"digits_{name}.tflite"
        info(f"[{name}] converting ...")
        conversion = convert_file(keras_path, tflite, quantize=quantize,
                                  calibration=digits_path("train") if quantize == "int8" else None,
                                  io_type="int8" if quantize == "int8" else "float32")
        info(f"[{name}] evaluating {tflite.name} on digits_val ...")
        accuracy = evaluate_model(tflite, digits_path("val"))
        info(f"[{name}] benchmarking {tflite.name} locally ({threads} thread(s), {warmup} warmup + {runs} runs) ...")
        bench = run_local(tflite, threads=threads, runs=runs, warmup=warmup)
        run_id = store.record(bench, target="local", host=LOCAL_HOST)
        rows.append(_row(name, conversion.to_dict(), accuracy.to_dict(), bench, run_id))
    report = {"out_dir": str(out), "keras_model": str(keras_path), "models": rows}
    atomic_write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    if as_json:
        emit_json(report)
        return
    click.echo(render_table(rows))
    click.echo(f"\nartifacts in {out}/: {keras_path.name}, "
               + ", ".join(Path(r["path"]).name for r in rows) + ", report.json")


def _train(out: Path, epochs: int, seed: int) -> Path:
    """The digits CNN trained from ``seed``, saved (atomically) as ``digits.keras``."""
    from edgekit.quiet import quiet_output
    from edgekit.fileio import atomic_path
    from edgekit.resources import digits_path

    info(f"[train] training the digits CNN on {digits_path('train').name} ({epochs} epochs) ...")
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
    info(f"[train] done in {time.perf_counter() - started:.1f}s -> {path}")
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


def render_table(rows: list[dict]) -> str:
    """The comparison table: one line per model, plus int8 relative to float32 (latency: the p50, which
    single slow runs do not move the way they move a mean)."""
    from edgekit.results.report import fmt_ms
    from edgekit.tables import format_table

    lines = []
    for r in rows:
        lines.append((r["name"], f"{r['size_bytes']:,}", f"{100 * r['accuracy']:.2f}%",
                      fmt_ms(r["latency_ms"]["p50"]), fmt_ms(r["latency_ms"]["p90"]), f"{r['peak_rss_mb']:.1f}"))
    base, quant = rows[0], rows[-1]
    lines.append((f"{quant['name']}/{base['name']}", f"{100 * quant['size_bytes'] / base['size_bytes']:.1f}%",
                  f"{100 * (quant['accuracy'] - base['accuracy']):+.2f} pts",
                  f"{quant['latency_ms']['p50'] / base['latency_ms']['p50']:.2f}x",
                  f"{quant['latency_ms']['p90'] / base['latency_ms']['p90']:.2f}x",
                  f"{quant['peak_rss_mb'] - base['peak_rss_mb']:+.1f}"))
    headers = ("model", "size (bytes)", "accuracy", "p50 (ms)", "p90 (ms)", "peak RSS (MB)")
    return format_table(headers, lines, align="lrrrrr", indent=0)
