"""Bytes on the device: the digits gzip-aware recipe stored as int4 (LiteRT, tflite-runtime 2.14) and as
TFLite Micro look-up tables, and a ternary model as 2-bit tables; every form verified against its int8 file.

    python bench/storage.py [--no-device]

Trains the benchmark's digits CNN (``digits_common.train_base``), runs the
``pruned_clustered_gzip`` recipe of ``bench/compression.py`` (80% pruned, run cost 0.3;
16 linear clusters, sparsity kept, entropy cost 0.25; 10 epochs per stage) as it is, and
once more with ``int4_grid`` on the cluster stage. Each model is converted to full int8
with per-tensor scales (the recipe's file: 156,792 bytes in compression.json) and then:

* ``--storage int4`` (``edgekit.convert.compact.store``): raw and gzip bytes, accuracy on
  the validation split under LiteRT, agreement with the int8 file, and where its bytes go:
  the int4 rewrite as TensorFlow's writer stores it, then what each trim step
  (``edgekit.convert.storage.trim.STEPS``), the sharing writer and its field layout remove, and what is left
  (kernels, biases, graph); beside it the same file with int8 inputs/outputs (another interface,
  so only a side figure);
* the same files on the emulated arm64 Pi's tflite-runtime 2.14 (``tests/devices``; the
  bench takes the device tier's lock): accuracy and agreement there;
* ``edgekit export --storage lut`` (``edgekit.export.compact.export_model``): C array bytes
  vs the int8 C array, TFLM accuracy of both, identical outputs, the arena of both.

The silently wrong forms are made on purpose (a block-sparse MLP with per-channel scales, one
LUT table per tensor on the per-channel int8 CNN), with the int4 layout the issue's table says
fails to load (per-channel scales on a FULLY_CONNECTED kernel), and run on every runtime, beside what
edgekit says when handed them. A ternary model (the ternary stage with ``include_ends``, 10 epochs: every kernel on
per-channel {-a, 0, +a}) gets 2-bit LUT storage. Results: ``bench/results/storage.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "devices")]

import keras  # noqa: E402
import numpy as np  # noqa: E402

from compression import RECIPES  # noqa: E402
from digits_common import train_base  # noqa: E402
from edgekit.convert import convert_model  # noqa: E402
from edgekit.convert.compact import store  # noqa: E402
from edgekit.convert.runners import run_model  # noqa: E402
from edgekit.data import load_dataset  # noqa: E402
from edgekit.export.arena import estimate_arena  # noqa: E402
from edgekit.export.compact import export_model  # noqa: E402
from edgekit.fileio import atomic_write_text  # noqa: E402
from edgekit.optimize.engine import Recipe, optimize  # noqa: E402
from edgekit.optimize.stages import Step  # noqa: E402
from edgekit.resources import digits_path  # noqa: E402

DEVICE_LOCK = "/tmp/edgekit-device-tier.lock"


def _int4_grid(recipe: Recipe) -> Recipe:
    steps = [Step(s.stage, replace(s.config, int4_grid=True)) if s.stage == "cluster" else s for s in recipe.steps]
    return Recipe(steps, recipe.finetune)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-device", action="store_true", help="Skip the arm64 device (tflite-runtime 2.14).")
    args = parser.parse_args()
    train = load_dataset(digits_path("train"), require_labels=True)
    val = load_dataset(digits_path("val"), require_labels=True)
    work = Path(tempfile.mkdtemp(prefix="edgekit-bench-storage-"))
    base, _ = train_base(train)
    calibration = train.x[:200]
    recipe = RECIPES["pruned_clustered_gzip"]
    models = {}
    for name, config in (("gzip_recipe", recipe), ("gzip_recipe_int4_grid", _int4_grid(recipe))):
        keras.utils.set_random_seed(0)
        models[name] = optimize(base, config, train, val, progress=lambda line: print(line, file=sys.stderr)).model
    from edgekit.optimize.ternary.config import TernaryConfig

    keras.utils.set_random_seed(0)
    models["ternary"] = optimize(base, Recipe([Step("ternary", TernaryConfig(include_ends=True))], recipe.finetune),
                                 train, val, progress=lambda line: print(line, file=sys.stderr)).model
    rows, files = [], {}
    for name, model in models.items():
        # per-tensor scales keep the recipe's 16 shared values 16 codes; ternary kernels are ternary per channel
        int8 = convert_model(model, quantize="int8", representative=calibration, per_tensor=name != "ternary")
        row = {"model": name, "int8": _sizes(int8) | {"accuracy_litert": _accuracy("litert", int8, val)}}
        files[f"{name}_int8"] = _write(work, f"{name}_int8", int8)
        if name != "ternary":
            try:
                stored = store("int4", "convert", int8, [calibration], where=name)
                row["int4"] = _sizes(stored.flatbuffer) | {
                    "accuracy_litert": _accuracy("litert", stored.flatbuffer, val),
                    "accuracy_tflm": _accuracy("tflm", stored.flatbuffer, val),
                    "vs_int8": round(len(stored.flatbuffer) / len(int8), 4),
                    "agreement_litert": stored.agreement.to_dict(), "kernels": stored.tensors,
                    "bytes_breakdown": _breakdown(int8, stored.flatbuffer, name),
                    "int8_io": _int8_io(model, calibration, name)}
                files[f"{name}_int4"] = _write(work, f"{name}_int4", stored.flatbuffer)
            except Exception as exc:  # a refused form is a result too
                row["int4"] = {"refused": str(exc)}
        row["lut"] = _lut(files[f"{name}_int8"], work / name, val)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    wrong, wrong_files = _silently_wrong(models["gzip_recipe_int4_grid"], train, val, files, calibration, work)
    files.update(wrong_files)
    device = None if args.no_device else _on_device(files, val)
    if device:
        for entry in wrong:
            entry["tflite_runtime_2_14"] = device.get(entry["file"])
    if device:
        for row in rows:
            for form in ("int8", "int4"):
                key = f"{row['model']}_{form}"
                if key in device and "bytes" in row.get(form, {}):
                    row[form]["tflite_runtime_2_14"] = device[key]
    result = {"recipe": "pruned_clustered_gzip of bench/compression.py", "val_samples": len(val), "models": rows,
              "silently_wrong": wrong}
    (HERE / "results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "storage.json", json.dumps(result, indent=2) + "\n")
    table = markdown(rows) + "\n\n" + markdown_bytes(rows) + "\n\n" + markdown_wrong(wrong)
    atomic_write_text(HERE / "results" / "storage.md", table + "\n")
    print(table)


def _silently_wrong(grid_model, train, val, files: dict[str, Path], calibration, work: Path) -> tuple[list[dict], dict]:
    """The forms some runtime runs wrong, made on purpose: each one's agreement with its int8 file per
    runtime, and what edgekit says when given it (export for TFLM, deploy's check for rpi4)."""
    from helpers import storage_shapes

    from edgekit.convert.storage import lut
    from edgekit.convert.storage.int4 import to_int4
    from edgekit.inspect import read_tflite
    from edgekit.inspect.storage import check_storage
    from edgekit.targets import load_target

    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(320, "relu"),
                            keras.layers.Dense(128, "relu"), keras.layers.Dense(10)], name="mlp")
    from edgekit.models import compile_classifier

    compile_classifier(mlp).fit(train.x, train.y, epochs=20, batch_size=32, verbose=0)
    storage_shapes.block_sparse(mlp)
    made = {"mlp_int8": convert_model(mlp, quantize="int8", representative=calibration),
            "mlp_sparse-per-channel": convert_model(mlp, quantize="int8", representative=calibration, sparsity=True)}
    cnn_int8 = convert_model(grid_model, quantize="int8", representative=calibration)  # per-channel scales
    records = [{**r, "axis": None, "bits": 7} for r in lut.plan(cnn_int8)]
    made["cnn_int8"] = cnn_int8
    made["cnn_lut-per-tensor-on-per-channel"] = lut.compress(cnn_int8, records, "bench")
    made["cnn_int4-fc-per-channel"] = storage_shapes.fc_scales_per_channel(to_int4(cnn_int8, "bench")[0])
    paths = {name: _write(work, name, blob) for name, blob in made.items()}
    entries = []
    for name in ("mlp_sparse-per-channel", "cnn_lut-per-tensor-on-per-channel", "cnn_int4-fc-per-channel"):
        reference = made[name.split("_")[0] + "_int8"]
        entry = {"file": name, "form": name.split("_", 1)[1], "bytes": len(made[name]), "int8_bytes": len(reference)}
        for runtime in ("litert", "tflm"):
            try:
                ref = run_model(runtime, reference, [val.x.astype(np.float32)], "reference")[0]
                out = run_model(runtime, made[name], [val.x.astype(np.float32)], name)[0]
                entry[runtime] = {"top1_agreement_with_int8": round(float(np.mean(ref.argmax(1) == out.argmax(1))), 4),
                                  "max_abs_diff_vs_int8": round(float(np.abs(ref - out).max()), 4),
                                  "accuracy": round(float(np.mean(out.argmax(1) == val.y)), 4)}
            except Exception as exc:
                entry[runtime] = {"error": str(exc)}
        model = read_tflite(made[name])
        for who, allowed in (("TFLite Micro (edgekit export)", ("int8", "int4", "lut")),
                             ("target rpi4 (edgekit deploy)", load_target("rpi4").storage)):
            try:
                check_storage(model, allowed, name, who)
                entry.setdefault("edgekit", []).append(f"{who}: accepted")
            except Exception as exc:
                entry.setdefault("edgekit", []).append(f"edgekit: error: {exc}")
        entries.append(entry)
    return entries, {k: v for k, v in paths.items() if k != "cnn_lut-per-tensor-on-per-channel"}


def markdown_wrong(entries: list[dict]) -> str:
    lines = ["| form | LiteRT 2.3: top-1 agreement with int8 | TFLM | tflite-runtime 2.14 (arm64) | edgekit |",
             "|---|---|---|---|---|"]
    for e in entries:
        cells = []
        for runtime in ("litert", "tflm", "tflite_runtime_2_14"):
            value = e.get(runtime) or {}
            cells.append(value.get("error", "")[:80] or (f"{value['top1_agreement_with_int8']:.1%}"
                                                            if "top1_agreement_with_int8" in value else "-"))
        refused = [x.split(" which ", 1)[1].split(" does not")[0] for x in e["edgekit"] if x.startswith("edgekit: error")]
        lines.append(f"| {e['form']} | {' | '.join(cells)} | refused (exit 5) for: {', '.join(refused) or 'none'} |")
    return "\n".join(lines)


def _breakdown(int8: bytes, final: bytes, where: str) -> dict:
    """Bytes of the int4 rewrite as TensorFlow's writer stores it, what the sharing writer and each trim
    step take off (in that order), and what the final file holds."""
    from tensorflow.lite.tools import flatbuffer_utils

    from edgekit.convert.storage import tflite_edit, trim
    from edgekit.convert.storage.int4 import rewrite_kernels
    from edgekit.inspect import read_tflite

    model = tflite_edit.read_model(int8)
    rewrite_kernels(model, where)
    size = len(flatbuffer_utils.convert_object_to_bytearray(model))
    steps = [{"step": "int8 file (the converter's)", "bytes": len(int8)},
             {"step": "kernels as int4, biases rescaled (TensorFlow's writer)", "bytes": size}]
    shared = len(tflite_edit.write_model(model, largest_first=False))
    steps.append({"step": "writer: identical vectors, strings and tables stored once", "bytes": shared,
                  "saved": size - shared})
    size = shared
    for label, step in trim.STEPS:
        step(model)
        now = len(tflite_edit.write_model(model, largest_first=False))
        steps.append({"step": label, "bytes": now, "saved": size - now})
        size = now
    now = len(tflite_edit.write_model(model))
    steps.append({"step": "writer: each table's fields largest first (no padding between them)", "bytes": now,
                  "saved": size - now})
    size = now
    assert size == len(final), "the breakdown must end at the file store() wrote"
    constants = [t for t in read_tflite(final).main.tensors if t.is_constant]
    kernels = sum(t.nbytes for t in constants if t.dtype == "int4")
    biases = sum(t.nbytes for t in constants if t.dtype == "int32" and len(t.shape) == 1 and t.quantization)
    return {"steps": steps, "final": {"bytes": len(final), "int4_kernels": kernels, "int32_biases": biases,
                                      "graph_and_other_constants": len(final) - kernels - biases}}


def _int8_io(model, calibration, where: str) -> dict:
    """The same int8 and int4 files with int8 inputs/outputs: another interface (callers quantize), so a side figure."""
    from edgekit.convert.storage.int4 import to_int4

    int8 = convert_model(model, quantize="int8", representative=calibration, per_tensor=True, io_type="int8")
    int4 = to_int4(int8, where)[0]
    return {"int8_bytes": len(int8), "int4_bytes": len(int4), "int4_vs_own_int8": round(len(int4) / len(int8), 4)}


def _write(work: Path, name: str, blob: bytes) -> Path:
    path = work / f"{name}.tflite"
    path.write_bytes(blob)
    return path


def _sizes(blob: bytes) -> dict:
    return {"bytes": len(blob), "gzip_bytes": len(gzip.compress(blob, 9))}


def _accuracy(runtime: str, blob: bytes, val) -> float:
    outputs = run_model(runtime, blob, [val.x.astype(np.float32)], "bench")[0]
    return round(float(np.mean(outputs.argmax(1) == val.y)), 4)


def _lut(int8_path: Path, out: Path, val) -> dict:
    try:
        result = export_model(int8_path, out, storage="lut", data=digits_path("val"))
    except Exception as exc:
        return {"refused": str(exc)}
    lut = result.stored.flatbuffer
    return {"c_array_bytes": result.c_array.length, "int8_c_array_bytes": result.stored.int8_bytes,
            "vs_int8": round(result.c_array.length / result.stored.int8_bytes, 4), "gzip_bytes": len(gzip.compress(lut, 9)),
            "arena_bytes": result.arena.bytes, "int8_arena_bytes": estimate_arena(int8_path).bytes,
            "accuracy_tflm": _accuracy("tflm", lut, val), "int8_accuracy_tflm": _accuracy("tflm", int8_path.read_bytes(), val),
            "agreement_tflm": result.stored.agreement.to_dict(), "kernels": result.stored.tensors}


def _on_device(files: dict[str, Path], val) -> dict:
    """Accuracy and agreement with the int8 file of every file on the arm64 Pi's tflite-runtime 2.14."""
    import subprocess

    import rig
    from storage_on_device import run_on_device

    with open(DEVICE_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = Path(tempfile.mkdtemp(prefix="edgekit-bench-key-")) / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        rig.check_prerequisites()
        rig.stop_all()
        device = rig.start_device(1, key.with_suffix(".pub").read_text(), memory_mb=384)
        try:
            known = key.parent / "known_hosts"
            known.write_text(device.known_hosts_line)
            ssh = ["-i", str(key), "-o", f"UserKnownHostsFile={known}", "-o", "BatchMode=yes"]
            outputs = run_on_device(device, ssh, {k: v for k, v in files.items()}, val.x)
        finally:
            rig.stop_all()
    report = {}
    for name, out in outputs.items():
        if isinstance(out, str):
            report[name] = {"error": out}
            continue
        reference = outputs.get(name.rsplit("_", 1)[0] + "_int8")
        entry = {"accuracy": round(float(np.mean(out.argmax(1) == val.y)), 4)}
        if not isinstance(reference, str) and reference is not None and not name.endswith("_int8"):
            entry["top1_agreement_with_int8"] = round(float(np.mean(out.argmax(1) == reference.argmax(1))), 4)
            entry["max_abs_diff_vs_int8"] = round(float(np.abs(out - reference).max()), 4)
        report[name] = entry
    return report


def markdown(rows: list[dict]) -> str:
    lines = ["| model | form | raw bytes | vs int8 | gzip bytes | accuracy LiteRT | tflite-runtime 2.14 (arm64) | "
             "TFLM accuracy | TFLM arena | agreement with int8 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        i8, i4, lut = row["int8"], row.get("int4", {}), row["lut"]
        dev = i8.get("tflite_runtime_2_14", {})
        lines.append(f"| {row['model']} | int8 | {i8['bytes']:,} | 100% | {i8['gzip_bytes']:,} | {i8['accuracy_litert']:.2%} "
                     f"| {_dev(dev)} | {_pct(lut.get('int8_accuracy_tflm'))} | {_num(lut.get('int8_arena_bytes'))} | reference |")
        if "bytes" in i4:
            dev = i4.get("tflite_runtime_2_14", {})
            agree = i4["agreement_litert"]
            lines.append(f"| {row['model']} | int4 | {i4['bytes']:,} | {i4['vs_int8']:.2%} | {i4['gzip_bytes']:,} | "
                         f"{i4['accuracy_litert']:.2%} | {_dev(dev)} | {_pct(i4.get('accuracy_tflm'))} | - | LiteRT: top-1 {agree['top1']:.1%}, max "
                         f"{agree['max_steps']:g} steps; arm64: top-1 {_pct(dev.get('top1_agreement_with_int8'))} |")
        elif i4:
            lines.append(f"| {row['model']} | int4 | refused: {i4['refused'][:120]} | | | | | | | |")
        if "c_array_bytes" in lut:
            agree = lut["agreement_tflm"]
            lines.append(f"| {row['model']} | lut (TFLM C array) | {lut['c_array_bytes']:,} | {lut['vs_int8']:.1%} | "
                         f"{lut['gzip_bytes']:,} | - | - | {lut['accuracy_tflm']:.2%} | {lut['arena_bytes']:,} | TFLM: max "
                         f"{agree['max_steps']:g} steps, top-1 {agree['top1']:.1%} ({agree['samples']} samples) |")
        else:
            lines.append(f"| {row['model']} | lut | refused: {lut.get('refused', '')[:120]} | | | | | | | |")
    return "\n".join(lines)


def markdown_bytes(rows: list[dict]) -> str:
    """Where the int4 file's bytes go, for every model stored as int4."""
    parts = []
    for row in rows:
        i4 = row.get("int4", {})
        if "bytes_breakdown" not in i4:
            continue
        breakdown, reference = i4["bytes_breakdown"], row["int8"]["bytes"]
        lines = [f"| {row['model']}: bytes of the int4 file | bytes | of int8 | removed |", "|---|---|---|---|"]
        for step in breakdown["steps"]:
            removed = f"-{step['saved']:,}" if "saved" in step else ""
            lines.append(f"| {step['step']} | {step['bytes']:,} | {step['bytes'] / reference:.2%} | {removed} |")
        final = breakdown["final"]
        lines.append(f"| final: int4 kernels {final['int4_kernels']:,} + int32 biases {final['int32_biases']:,} + graph "
                     f"and other constants {final['graph_and_other_constants']:,} | {final['bytes']:,} | "
                     f"{final['bytes'] / reference:.2%} | |")
        io = i4["int8_io"]
        lines.append(f"| side figure, int8 inputs/outputs (another interface): int8 {io['int8_bytes']:,}, int4 "
                     f"{io['int4_bytes']:,} | {io['int4_bytes']:,} | {io['int4_bytes'] / reference:.2%} | "
                     f"{io['int4_vs_own_int8']:.2%} of its own int8 |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _dev(entry: dict) -> str:
    if not entry:
        return "-"
    return entry.get("error") or f"{entry['accuracy']:.2%}"


def _pct(value) -> str:
    return "-" if value is None else f"{value:.2%}"


def _num(value) -> str:
    return "-" if value is None else f"{value:,}"


if __name__ == "__main__":
    main()
