"""`edgekit build` end to end on the digits example (tiny epochs): budgets, reproducibility, cache, report."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from html import unescape

import pytest

from helpers.build_support import build, project
from edgekit.pipeline.budgets import BUDGETS
from edgekit.pipeline.manifest import without_timing


@pytest.fixture(scope="module")
def first_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("build_a")
    config = project(tmp)
    proc = build(config, tmp / "out", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config, tmp / "out", proc


@pytest.fixture(scope="module")
def example_build(tmp_path_factory):
    """The shipped example as is (prune step included), with tiny epochs."""
    tmp = tmp_path_factory.mktemp("example")
    proc = build(project(tmp, optimize=True), tmp / "out", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "out", json.loads(proc.stdout)


def test_build_writes_artifacts_and_passes_budgets(first_build):
    config, out, proc = first_build
    manifest = json.loads(proc.stdout)  # --json: stdout is the manifest and nothing else
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["passed"] is True
    checked = {v["budget"] for v in manifest["budgets"] + manifest["timing"]["budgets"]}
    assert checked == set(BUDGETS) - {"max_mae", "max_mse"}  # every budget a classifier has
    for line in ("budget max_size_kb: ", "budget max_arena_kb: ", "budget max_latency_ms: "):
        assert line in proc.stderr
    for stage in ("[build] model builtin:digits_cnn", "[build] convert float32", "[build] convert int8",
                  "[build] evaluate int8", "[build] arena", "[build] bench int8"):
        assert stage in proc.stderr
    # artifacts and their recorded hashes
    for name, entry in manifest["outputs"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert {"model.tflite", "variants/float32.tflite", "variants/int8.tflite",
            "model_data.h", "model_data.cc"} <= set(manifest["outputs"])
    assert [v["name"] for v in manifest["variants"]] == ["float32", "int8"]
    final = manifest["model"]
    assert final["sha256"] == hashlib.sha256((out / "model.tflite").read_bytes()).hexdigest()
    assert final["accuracy"] >= 0.93 and final["size_kb"] < manifest["variants"][0]["size_bytes"] / 1024 / 3
    assert final["arena"]["bytes"] > 0 and final["arena"]["method"] in ("tflite-micro", "planner")
    assert manifest["timing"]["measured_on"] == "local" and manifest["timing"]["latency_ms"]["mean"] > 0
    latency = {v["budget"]: v for v in manifest["timing"]["budgets"]}
    timing = manifest["timing"]["latency_ms"]
    assert (latency["max_latency_ms"]["value"], latency["max_p90_ms"]["value"]) == (timing["p50"], timing["p90"])
    assert not any(v["off_target"] for v in latency.values())  # target local, measured on local
    assert manifest["versions"]["tensorflow"] and manifest["config"]["optimize"] == []
    drop, variants = manifest["drop"], manifest["variants"]
    assert (drop["before"], drop["after"]) == (variants[0]["accuracy"], final["accuracy"]) and final["verified"] is None
    assert proc.stderr.strip().splitlines()[-1] == f"{drop['line']} (float32 → int8)"
    assert manifest["warning"] is None and drop["points"] < 5
    assert final["sha256"] in (out / "model_data.h").read_text()
    from edgekit.results import ResultStore

    runs = ResultStore(out.parent / "results.db").runs()
    assert [(r["model_sha256"], r["target"]) for r in runs] == [(final["sha256"], "local")]


@pytest.mark.slow
def test_shipped_example_prunes_and_passes_its_budgets(example_build):
    out, manifest = example_build
    assert manifest["passed"] is True
    assert [v["name"] for v in manifest["variants"]] == ["float32", "int8", "optimized-int8"]
    assert manifest["config"]["optimize"] == [{"step": "prune", "sparsity": 0.5}]
    kernels = [layer for layer in manifest["model"]["layers"] if layer["params"] > 1000]
    assert kernels and all(layer["sparsity"] >= 0.45 for layer in kernels), kernels
    plain, pruned = manifest["variants"][1], manifest["variants"][2]
    assert pruned["gzip_bytes"] < plain["gzip_bytes"]  # zeros compress


def test_second_build_hits_the_cache_and_changes_nothing(first_build):
    config, out, proc = first_build
    before = json.loads((out / "manifest.json").read_text())
    again = build(config, out)
    assert again.returncode == 0, again.stderr[-2000:]
    after = json.loads((out / "manifest.json").read_text())
    stages = after["timing"]["stages"]
    cacheable = [s for s in stages if s.split()[0] in ("model", "optimize", "convert", "evaluate", "arena")]
    assert len(cacheable) >= 6 and all(stages[s]["cached"] for s in cacheable), stages
    assert "[build] model builtin:digits_cnn cached" in again.stderr
    assert not any(before["timing"]["stages"][s]["cached"] for s in cacheable)
    assert without_timing(after) == without_timing(before)


@pytest.mark.slow
def test_two_builds_are_byte_identical(first_build, tmp_path):
    config, out, _ = first_build
    proc = build(config, tmp_path / "out")  # fresh directory: no cache shared
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("model.tflite", "variants/float32.tflite", "variants/int8.tflite", "model_data.cc"):
        assert (tmp_path / "out" / name).read_bytes() == (out / name).read_bytes(), name
    first = json.loads((out / "manifest.json").read_text())
    second = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert without_timing(first) == without_timing(second)


def test_tightened_budget_fails_with_its_code(first_build, tmp_path):
    config, out, _ = first_build
    tight = project(tmp_path, max_size_kb=64, max_arena_kb=1)
    shutil.copytree(out, tmp_path / "out")  # same inputs: the stages come from the cache
    proc = build(tight, tmp_path / "out")
    assert proc.returncode == BUDGETS["max_size_kb"][0] == 10
    size = json.loads((tmp_path / "out" / "manifest.json").read_text())["model"]["size_kb"]
    assert re.search(r"budget max_size_kb: [\d.]+ > 64\b", proc.stderr)
    assert re.search(r"budget max_arena_kb: [\d.]+ > 1\b", proc.stderr)
    assert f"edgekit: error: budget max_size_kb: {size:.1f}".rstrip("0").rstrip(".") in proc.stderr
    assert "Traceback" not in proc.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["passed"] is False  # artifacts are still written for the CI to inspect
    only_arena = build(project(tmp_path, max_arena_kb=1), tmp_path / "out")
    assert only_arena.returncode == BUDGETS["max_arena_kb"][0]


@pytest.mark.slow
def test_coral_target_gets_the_edge_tpu_check(first_build, tmp_path):
    _, out, _ = first_build
    shutil.copytree(out, tmp_path / "out")  # model and optimize stages come from the cache
    proc = build(project(tmp_path, target="coral-usb"), tmp_path / "out", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads(proc.stdout)
    tpu = manifest["edgetpu"]
    assert tpu["compatible"] and tpu["cpu_ops"] == 0 and tpu["model_issues"] == []  # batch 1, full int8
    if shutil.which("edgetpu_compiler") is None:
        assert tpu["compiler"] is None and "edgetpu_compiler is not on PATH" in proc.stderr
    assert manifest["timing"]["measured_on"] == "local, not coral-usb: no [target] device configured"
    assert "latency measured on local, not coral-usb" in proc.stderr
    timing = manifest["timing"]["budgets"]
    assert {v["budget"] for v in timing} == {"max_latency_ms", "max_p90_ms", "max_peak_memory_mb"}
    assert all(v["off_target"] for v in timing) and manifest["passed"]
    for verdict in timing:  # shown as measured elsewhere, never as a green "ok"
        assert re.search(rf"budget {verdict['budget']}: \S+ \S+ \S+ off-target, not checked \(measured on local, "
                         "not coral-usb", proc.stderr)
    assert " ok (measured on local, not coral-usb" not in proc.stderr
    assert "off-target</td>" in (tmp_path / "out" / "report.html").read_text()
    assert "Coral Edge TPU" in (tmp_path / "out" / "report.html").read_text()
    bad = project(tmp_path, target="coral-usb").read_text().replace('quantize = "int8"', 'quantize = "float16"')
    (tmp_path / "edgekit.toml").write_text(bad)
    proc = build(tmp_path / "edgekit.toml", tmp_path / "out")
    assert proc.returncode == 2 and "[convert] quantize 'float16' does not suit target coral-usb" in proc.stderr


def test_unreachable_device_falls_back_to_local_and_says_so(first_build, tmp_path):
    _, out, _ = first_build
    shutil.copytree(out, tmp_path / "out")
    config = project(tmp_path, target="rpi4")
    text = config.read_text().replace('name = "rpi4"', 'name = "rpi4"\ndevice = "bench-pi"')
    # the device comes from a [devices.NAME] inventory table in the same file; port 1 refuses
    config.write_text(text + '\n[devices.bench-pi]\nhost = "nobody@127.0.0.1:1"\ntarget = "rpi4"\n')
    proc = build(config, tmp_path / "out", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "device bench-pi unreachable" in proc.stderr and "cannot connect to 127.0.0.1:1" in proc.stderr
    manifest = json.loads(proc.stdout)
    assert manifest["timing"]["measured_on"] == "local, not rpi4: bench-pi unreachable"
    assert all(v["note"] == "measured on local, not rpi4: bench-pi unreachable" for v in manifest["timing"]["budgets"])


@pytest.mark.slow
def test_report_renders_in_headless_chromium(example_build, tmp_path):
    """The report's panels, as the browser renders them: variants, gzip axis, Keras names, trend, links."""
    from PIL import Image

    out, manifest = example_build
    config = out.parent / "edgekit.toml"
    config.write_text(config.read_text().replace("sparsity = 0.5", "sparsity = 0.6"))
    proc = build(config, out)   # a second build of the (edited) config into the same directory: the trend
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (out / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed: apt-get install chromium (scripts/system-packages.txt)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", (out / "report.html").as_uri()], check=True, capture_output=True,
                         text=True, timeout=120).stdout

    def table(table_id: str) -> list[list[str]]:
        found = re.search(rf'<table id="{table_id}">(.*?)</table>', dom, re.S)
        assert found, f"no table {table_id} in the rendered report"
        return [[html_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)][1:]

    variants = {row[0]: row for row in table("variants")}
    assert list(variants) == ["float32", "int8", "optimized-int8"]
    for v in json.loads((out / "manifest.json").read_text())["variants"]:
        row = variants[v["name"]]
        assert row[1] == f"{v['size_bytes'] / 1024:.1f} KB" and row[2] == f"{v['gzip_bytes'] / 1024:.1f} KB"
        assert row[3] == f"{v['accuracy'] * 100:.1f}%" and row[5].endswith(" ms") and row[6].endswith(" ms")
    trend = table("trend")
    assert len(trend) == 2 and trend[1][-1] == "config changed"
    assert "gzip -9 size (KB)" in dom
    labels = {html_text(label).split()[0] for label in re.findall(r"<text[^>]*><title>.*?</title>(.*?)</text>", dom)}
    assert {"conv1", "conv2", "fc1", "logits"} <= labels, labels   # Keras layer names, not TFLite tensor names
    links = re.findall(r'<a href="([^"]+)"', re.search(r'<table id="artifacts">(.*?)</table>', dom, re.S).group(1))
    assert "model.tflite" in links and "variants/optimized-int8.tflite" in links and "model_data.cc" in links
    assert all((out / href).is_file() for href in links)
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,2600", (out / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2600)
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 200, f"only {len(colours)} colours: the page looks blank"
    # the plots' colours are on the page, not just text
    pixels = {c for _, c in colours}
    assert (0x4C, 0x6E, 0xF5) in pixels and (0x2B, 0x8A, 0x3E) in pixels


def html_text(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()
