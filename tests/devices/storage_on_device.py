"""Run .tflite files on an emulated device's own runtime (tflite-runtime 2.14) and bring the outputs back.

Files and inputs go through the device's root as the host sees it; the script runs over
ssh under the device user's venv. The storage tests and ``bench/storage.py`` use it to
measure which weight storage forms that runtime gets right.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

SCRIPT = r"""
import json, sys
import numpy as np
from tflite_runtime.interpreter import Interpreter
folder = sys.argv[1]
x = np.load(folder + "/inputs.npy")
report = {}
for name in sys.argv[2:]:
    try:
        it = Interpreter(model_path=f"{folder}/{name}.tflite")
        it.allocate_tensors()
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        outs = []
        for row in x:
            v = row[None]
            if i["dtype"] != np.float32:
                s, z = i["quantization"]
                v = np.clip(np.round(v / s + z), -128, 127)
            it.set_tensor(i["index"], v.astype(i["dtype"]))
            it.invoke()
            y = it.get_tensor(o["index"]).astype(np.float32)
            if o["dtype"] != np.float32:
                s, z = o["quantization"]
                y = (y - z) * s
            outs.append(y[0])
        np.save(f"{folder}/{name}.out.npy", np.array(outs))
        report[name] = "ok"
    except Exception as exc:
        report[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
print(json.dumps(report))
"""


def run_on_device(device, ssh: list[str], files: dict[str, Path], inputs: np.ndarray,
                  folder: str = "storage-check") -> dict[str, np.ndarray | str]:
    """{name: outputs (float, samples first) or the runtime's error} for each file, run on ``device``."""
    home = Path(device.root) / "home" / device.user if device.user != "root" else Path(device.root) / "root"
    local = home / folder
    shutil.rmtree(local, ignore_errors=True)
    local.mkdir(parents=True)
    for name, path in files.items():
        shutil.copy(path, local / f"{name}.tflite")
    np.save(local / "inputs.npy", inputs.astype(np.float32))
    (local / "run.py").write_text(SCRIPT)
    subprocess.run(["chown", "-R", f"{_owner(home)}", str(local)], check=True)
    remote = f"/home/{device.user}/{folder}"
    done = subprocess.run(["ssh", *ssh, device.spec, f"/home/{device.user}/venv/bin/python {remote}/run.py {remote} "
                           + " ".join(files)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"device run failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: np.load(local / f"{name}.out.npy") if status == "ok" else status for name, status in report.items()}


def _owner(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_uid}:{stat.st_gid}"
