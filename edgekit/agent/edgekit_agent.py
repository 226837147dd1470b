#!/usr/bin/env python3
"""edgekit's on-device agent: probe a device, benchmark a .tflite model on it, run it on given inputs.

This one file is copied to devices and run there, so it depends on nothing but the
standard library, numpy (1.x or 2.x) and the first TFLite runtime that imports --
``tflite_runtime``, ``ai_edge_litert`` or ``tensorflow.lite`` -- and keeps Python 3.9
syntax. It measures the way TFLite's ``benchmark_model`` does (init, first inference,
warmup, timed runs, memory footprint) and prints exactly one JSON object on stdout:

    python3 edgekit_agent.py probe [--dir D]
    python3 edgekit_agent.py bench MODEL [--threads N] [--runs N] [--warmup N]
                                         [--delegate LIB] [--runtime a,b,c] [--max-seconds S]
                                         [--op-profile]
    python3 edgekit_agent.py run MODEL --inputs IN.npz --save OUT.npz [--threads N]
                                       [--delegate LIB] [--runtime a,b,c] [--max-seconds S]
    python3 edgekit_agent.py session

``session`` serves a whole deploy from one process, so numpy and the runtime are imported
once: each stdin line is the argv of one of the commands above as a JSON list (e.g.
``["probe", "--dir", "/home/pi/.edgekit"]``), each answer the JSON line that command prints,
in order; it ends at EOF. A crash ends the session (the caller reports it). A session also
runs the deploy's own stdlib scripts (sha256 checks, the switch) without a Python start each:
``["script", SOURCE, ARG...]`` answers ``{"ok": true, "status": N, "stdout": ..., "stderr": ...}``
as ``python -c SOURCE ARG...`` would have exited and printed.

``run`` computes the model's outputs with the device's own runtime, so the host can score
them (accuracy on the device) or compare them with another file's (agreement): IN.npz holds
float32 arrays ``x0, x1, ...`` (one per model input, in the model's input order, samples
first), quantized here with the model's own input parameters; OUT.npz gets the raw outputs
``y0, y1, ...`` (the model's output dtype and order), the JSON their quantization and the
top-1 class of each sample for outputs that are rows of scores. Schema 2 = schema 1 plus
``delegation`` and the ``run`` command (every schema-1 field is unchanged).

``bench --op-profile`` adds ``op_profile``: the time of each of the model's operators. The
Python APIs of these runtimes expose no per-operator profiler (benchmark_model's
``--enable_op_profiling`` is C++ only), so each operator runs alone in a one-operator copy
of the model (same runtime, threads and delegates), fed the values it gets inside the
model, with the benchmark's warmup and runs; the shares are of the sum of their medians,
which is reported beside the whole model's median (the difference is the isolation overhead).

Exit codes: 0 ok, 2 bad_args, 3 runtime_missing, 4 model_load/unresolved_op,
5 inference, 6 time_limit. A crash (signal) prints nothing: the caller reports it.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import platform
import queue
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

SCHEMA = 2
DEFAULT_RUNTIMES = ("tflite_runtime", "ai_edge_litert", "tensorflow.lite")
EXIT_CODES = {"bad_args": 2, "runtime_missing": 3, "model_load": 4, "unresolved_op": 4,
              "inference": 5, "time_limit": 6}
INSTALL_ADVICE = ("install a TFLite runtime for this Python: 'pip install ai-edge-litert' "
                  "(numpy 2 or 1), or 'pip install tflite-runtime' (numpy 1 only)")
# ARM "CPU part" numbers (implementer 0x41) of the cores found on edge boards.
ARM_PARTS = {"0xb76": "ARM1176", "0xc07": "Cortex-A7", "0xc08": "Cortex-A8", "0xc09": "Cortex-A9",
             "0xc0f": "Cortex-A15", "0xd03": "Cortex-A53", "0xd04": "Cortex-A35",
             "0xd05": "Cortex-A55", "0xd07": "Cortex-A57", "0xd08": "Cortex-A72",
             "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
             "0xd0d": "Cortex-A77", "0xd41": "Cortex-A78", "0xd46": "Cortex-A510",
             "0xd47": "Cortex-A710", "0xd4d": "Cortex-A715"}
# vcgencmd get_throttled bits: 0-3 are "now", 16-19 the same conditions "since boot".
THROTTLE_BITS = {0: "under-voltage", 1: "arm-frequency-capped", 2: "throttled", 3: "soft-temperature-limit"}
THROTTLE_NOW_MASK = 0xF
THROTTLE_SINCE_BOOT_SHIFT = 16
# A 720-byte TFLite model (y = x + 1.0, float32[1]). A runtime counts as available only
# once it has built an interpreter for it: tflite-runtime 2.14 imports fine under numpy 2
# and fails only when the interpreter is created ("_ARRAY_API not found").
SMOKE_MODEL = base64.b64decode(
    "HAAAAFRGTDMUACAAHAAYABQAEAAMAAAACAAEABQAAAAcAAAAHAAAAHQAAAA8AQAATAEAAIwCAAAD"
    "AAAAAAAAAAIAAAA0AAAABAAAANz///8FAAAABAAAABMAAABDT05WRVJTSU9OX01FVEFEQVRBAAgA"
    "DAAIAAQACAAAAAQAAAAEAAAAEwAAAG1pbl9ydW50aW1lX3ZlcnNpb24ABgAAAMQAAAC8AAAAqAAA"
    "AJgAAAB0AAAABAAAAG7///8EAAAAYAAAABAAAAAAAAAACAAOAAgABAAIAAAAEAAAACQAAAAAAAYA"
    "CAAEAAYAAAAEAAAAAAAAAAwAGAAUABAADAAEAAwAAAD/W6tjfSDdiQMAAAACAAAABAAAAAYAAAAy"
    "LjIxLjAAANr///8EAAAAEAAAADEuNS4wAAAAAAAAAAAAAAAEAAYABAAAAAAABgAIAAQABgAAAAQA"
    "AAAEAAAAAACAP5j+//+c/v//DwAAAE1MSVIgQ29udmVydGVkLgABAAAAFAAAAAAADgAYABQAEAAM"
    "AAgABAAOAAAAFAAAABwAAABcAAAAYAAAAGQAAAAEAAAAbWFpbgAAAAABAAAAFAAAAAAADgAUAAAA"
    "EAAMAAsABAAOAAAAEAAAAAAAAAsMAAAAEAAAABz///8BAAAAAgAAAAIAAAAAAAAAAQAAAAEAAAAC"
    "AAAAAQAAAAAAAAADAAAAhAAAADwAAAAEAAAAnv///wAAAAEQAAAAEAAAAAMAAAAYAAAAbP///wgA"
    "AABJZGVudGl0eQAAAAABAAAAAQAAANL///8AAAABEAAAABAAAAACAAAAFAAAAKD///8FAAAAYWRk"
    "L3kAAAAAAAAAAAAWABgAFAAAABAADAAIAAAAAAAAAAcAFgAAAAAAAAEQAAAAEAAAAAEAAAAQAAAA"
    "5P///wEAAAB4AAAAAQAAAAEAAAABAAAACAAAAAQABAAEAAAA"
)


class AgentFailure(Exception):
    """A failure with a kind from EXIT_CODES and a one-line message for the user."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Output:
    """The agent's real stdout, kept aside so runtime chatter cannot corrupt the JSON.

    Native runtimes print to fd 1 (e.g. "INFO: Created TensorFlow Lite XNNPACK delegate");
    fd 1 is pointed at stderr for the whole run and the JSON goes to a duplicate of the
    original stdout. Written at most once, also from the watchdog thread.
    """

    def __init__(self) -> None:
        sys.stdout.flush()
        self._fd = os.dup(1)
        os.dup2(2, 1)
        self._lock = threading.Lock()
        self._done = False
        self.request = 0  # which session request an answer belongs to (a late watchdog must not answer the next)

    @property
    def fd(self) -> int:
        """The real stdout, where the answers go."""
        return self._fd

    def next_request(self) -> None:
        """A session's next request may be answered (once)."""
        with self._lock:
            self.request += 1
            self._done = False

    def emit(self, obj: dict, request: int | None = None) -> bool:
        with self._lock:
            if self._done or (request is not None and request != self.request):
                return False
            data = (json.dumps(obj) + "\n").encode("utf-8")
            while data:
                data = data[os.write(self._fd, data):]
            self._done = True
            return True


# --------------------------------------------------------------------------- host & device


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _cpuinfo() -> dict:
    fields = {}
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model(cpuinfo: dict) -> str:
    """A human CPU name: the ARM core from its part number, else the kernel's model name."""
    part = cpuinfo.get("CPU part", "").lower()
    if cpuinfo.get("CPU implementer", "0x41").lower() == "0x41" and part in ARM_PARTS:
        return ARM_PARTS[part]
    for key in ("model name", "Hardware", "Model", "Processor", "cpu model"):
        if cpuinfo.get(key):
            return cpuinfo[key]
    return platform.processor() or platform.machine() or "unknown"


def _numpy_version() -> str | None:
    """numpy's version, or None when it is missing (probe must still answer then)."""
    try:
        import numpy as np
    except ImportError:
        return None
    return np.__version__


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota.

    ``os.cpu_count()`` counts the machine's cores; in a container, a systemd slice or a
    taskset, fewer are usable, and a benchmark with more threads than that is misleading.
    """
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpu_quota()
    return max(1, min(count, -(-quota[0] // quota[1]))) if quota else count


def _cgroup_cpu_quota() -> tuple[int, int] | None:
    """(quota, period) in microseconds from cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_*``; None if unlimited."""
    v2 = (_read("/sys/fs/cgroup/cpu.max") or "").split()
    if len(v2) == 2 and v2[0] != "max":
        return int(v2[0]), int(v2[1])
    quota, period = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    if quota and period and int(quota) > 0:
        return int(quota), int(period)
    return None


def host_info() -> dict:
    cpuinfo = _cpuinfo()
    board = cpuinfo.get("Model") or (_read("/proc/device-tree/model") or "").rstrip("\x00") or None
    return {"hostname": socket.gethostname(), "arch": platform.machine(),
            "cpu_model": cpu_model(cpuinfo), "board": board, "cpu_count": os.cpu_count(),
            "cpus_usable": usable_cpus(),
            "python": platform.python_version(), "numpy": _numpy_version(),
            "platform": platform.platform()}


def _vcgencmd_throttled() -> str | None:
    exe = shutil.which("vcgencmd")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "get_throttled"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"throttled=(0x[0-9a-fA-F]+)", out)
    return match.group(1) if match else None


def device_state() -> dict:
    """CPU governor, SoC temperature (C) and Raspberry Pi throttle flags, where available."""
    temp = _read("/sys/class/thermal/thermal_zone0/temp")
    try:
        temp_c = round(int(temp) / 1000.0, 1) if temp else None
    except ValueError:
        temp_c = None
    return {"governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            "temp_c": temp_c, "throttled": _vcgencmd_throttled()}


def throttle_reasons(before: str | None, after: str | None) -> list:
    """Conditions that make a run's figures suspect: active after the run, or new during it."""
    if after is None:
        return []
    now = int(after, 16)
    since_boot_before = int(before, 16) >> THROTTLE_SINCE_BOOT_SHIFT if before else 0
    new_during_run = (now >> THROTTLE_SINCE_BOOT_SHIFT) & ~since_boot_before
    flagged = (now | new_during_run) & THROTTLE_NOW_MASK
    return [name for bit, name in sorted(THROTTLE_BITS.items()) if flagged & (1 << bit)]


# --------------------------------------------------------------------------- memory


def memory_mb() -> dict:
    """Current and peak resident set size in MB (/proc, else getrusage which has only the peak)."""
    status = _read("/proc/self/status")
    if status:
        values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+)\s+kB", status, re.M))
        if "VmRSS" in values and "VmHWM" in values:
            return {"rss": int(values["VmRSS"]) / 1024.0, "peak": int(values["VmHWM"]) / 1024.0,
                    "source": "/proc/self/status"}
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
    return {"rss": peak_mb, "peak": peak_mb, "source": "getrusage"}


# --------------------------------------------------------------------------- runtimes


class RuntimeApi(object):
    """The parts of a TFLite runtime the agent uses, whichever package they come from."""

    def __init__(self, interpreter, load_delegate, op_resolver_type, version) -> None:
        self.interpreter = interpreter
        self.load_delegate = load_delegate
        self.op_resolver_type = op_resolver_type  # None on runtimes too old to have it
        self.version = str(version)


def _import_runtime(name: str) -> RuntimeApi:
    """One runtime's API; raises whatever its import raises."""
    if name == "tflite_runtime":
        import tflite_runtime
        from tflite_runtime import interpreter as module

        version = getattr(tflite_runtime, "__version__", "unknown")
    elif name == "ai_edge_litert":
        import ai_edge_litert
        from ai_edge_litert import interpreter as module

        version = getattr(ai_edge_litert, "__version__", "unknown")
    elif name == "tensorflow.lite":
        import tensorflow as tf

        return RuntimeApi(tf.lite.Interpreter, tf.lite.experimental.load_delegate,
                          getattr(tf.lite.experimental, "OpResolverType", None), tf.__version__)
    else:
        raise AgentFailure("bad_args", "unknown runtime %r: choose from %s" % (name, ", ".join(DEFAULT_RUNTIMES)))
    return RuntimeApi(module.Interpreter, module.load_delegate, getattr(module, "OpResolverType", None), version)


def find_runtime(order) -> tuple:
    """(runtime info or None, its RuntimeApi or None, why earlier ones failed).

    The runtime info names the first runtime in ``order`` that works, its version and
    the error of every runtime tried before it.
    """
    tried = []
    for name in order:
        try:
            api = _import_runtime(name)
            api.interpreter(model_content=SMOKE_MODEL).allocate_tensors()
        except AgentFailure:
            raise
        except Exception as exc:  # a broken wheel raises anything (SystemError under numpy 2)
            tried.append({"name": name, "error": _runtime_error(exc)})
            continue
        return {"name": name, "version": api.version, "tried": tried}, api, tried
    return None, None, tried


def _runtime_error(exc: BaseException) -> str:
    """The error and its cause on one line, with the fix when a numpy-1 build meets numpy 2."""
    import numpy as np

    text = "%s: %s" % (type(exc).__name__, exc)
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        text += " (caused by %s: %s)" % (type(cause).__name__, cause)
    if int(np.__version__.split(".")[0]) >= 2 and re.search(r"_ARRAY_API|NumPy 1\.x|multiarray", text):
        text += " -- built for numpy 1.x but this Python has numpy %s: pip install 'numpy<2'" % np.__version__
    return _one_line(text)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_runtime_order(text: str | None) -> list:
    if not text:
        return list(DEFAULT_RUNTIMES)
    order = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in order if name not in DEFAULT_RUNTIMES]
    if not order or unknown:
        raise AgentFailure("bad_args", "--runtime %r: choose from %s" % (text, ", ".join(DEFAULT_RUNTIMES)))
    return order


# --------------------------------------------------------------------------- model loading


XNNPACK_FAILED = re.compile(r"XNNPack", re.I)
_UNRESOLVED_PATTERNS = (
    re.compile(r"unresolved custom op:\s*([^\s.]+)", re.I),
    re.compile(r"Didn't find op for builtin opcode '([^']+)' version '(\d+)'"),
    re.compile(r"Didn't find custom op for name '([^']+)'"),
)


def load_failure(model_path: str, exc: Exception) -> AgentFailure:
    """Turn a runtime's load error into unresolved_op (naming the op) or model_load."""
    text = str(exc)
    for pattern in _UNRESOLVED_PATTERNS:
        match = pattern.search(text)
        if match:
            op = match.group(1) + (" (version %s)" % match.group(2) if match.lastindex == 2 else "")
            return AgentFailure("unresolved_op", "%s: op %s is not available in this runtime: register it "
                                "as a custom op, build it into the runtime, or convert the model without "
                                "it" % (model_path, op))
    return AgentFailure("model_load", "%s: the runtime could not load the model: %s" % (model_path, _one_line(text)))


def make_inputs(details: list, seed: int = 0) -> list:
    """Random inputs of each tensor's dtype and shape; integers span the dtype's full range."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = []
    for detail in details:
        dtype = np.dtype(detail["dtype"])
        shape = tuple(int(d) for d in detail["shape"])
        if dtype == np.bool_:
            arrays.append(rng.integers(0, 2, size=shape).astype(np.bool_))
        elif np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True))
        elif np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating):
            arrays.append(rng.random(size=shape).astype(dtype))
        else:
            raise AgentFailure("inference", "input %r has dtype %s, which the agent cannot generate"
                               % (detail["name"], dtype.name))
    return arrays


def _tensor_summary(details: list) -> list:
    import numpy as np

    return [{"name": d["name"], "shape": [int(x) for x in d["shape"]], "dtype": np.dtype(d["dtype"]).name}
            for d in details]


# --------------------------------------------------------------------------- measuring


def latency_stats(samples_ms: list) -> dict:
    import numpy as np

    values = np.asarray(samples_ms, dtype=np.float64)
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "p50": p50, "p90": p90, "p99": p99}


def _timed_invoke(interpreter) -> float:
    start = time.perf_counter()
    interpreter.invoke()
    return (time.perf_counter() - start) * 1000.0


def measure(interpreter, inputs: list, warmup: int, runs: int, stop) -> tuple:
    """(first ms, warmup ms list, timed ms list) the way benchmark_model runs: one first inference,
    then warmup and timed runs until their count or ``stop()``; at least one timed run."""
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], array)
    first_ms = _timed_invoke(interpreter)
    warmed = []
    while len(warmed) < warmup and not stop():
        warmed.append(_timed_invoke(interpreter))
    timed = [_timed_invoke(interpreter)]
    while len(timed) < runs and not stop():
        timed.append(_timed_invoke(interpreter))
    return first_ms, warmed, timed


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Deadline:
    """The --max-seconds budget: a soft end for warmup/timed runs, a hard one for a hang."""

    def __init__(self, max_seconds: float | None, output: Output) -> None:
        self.max_seconds = max_seconds
        self.start = time.perf_counter()
        self.request = output.request
        if max_seconds is not None:
            hard = max_seconds + max(5.0, max_seconds / 2.0)
            timer = threading.Timer(hard, self._expire, args=(output, hard))
            timer.daemon = True
            timer.start()

    def exceeded(self) -> bool:
        return self.max_seconds is not None and time.perf_counter() - self.start > self.max_seconds

    def share(self, parts: int):
        """The stop test of the next of ``parts`` measurements that split what is left of the budget evenly."""
        if self.max_seconds is None:
            return lambda: False
        left = self.start + self.max_seconds - time.perf_counter()
        end = time.perf_counter() + max(0.0, left) / max(1, parts)
        return lambda: time.perf_counter() > end

    def _expire(self, output: Output, hard: float) -> None:
        # The main thread is stuck inside the runtime: answer for it and leave.
        message = ("no result after %.0fs (--max-seconds %g): model init or one inference is hanging "
                   "or far too slow on this device" % (hard, self.max_seconds))
        if output.emit(failure("time_limit", message), self.request):
            os._exit(EXIT_CODES["time_limit"])


def _runtime_for(args, output: Output) -> tuple:
    """(runtime info, RuntimeApi, Deadline) for a command that loads a model; checks the common flags."""
    if not os.path.isfile(args.model):
        raise AgentFailure("bad_args", "%s: no such model file" % args.model)
    if args.threads < 1:
        raise AgentFailure("bad_args", "--threads must be at least 1")
    order = parse_runtime_order(args.runtime)
    deadline = Deadline(args.max_seconds, output)
    runtime, api, tried = find_runtime(order)
    if runtime is None:
        raise AgentFailure("runtime_missing", "no usable TFLite runtime (%s); %s"
                           % ("; ".join("%s: %s" % (t["name"], t["error"]) for t in tried), INSTALL_ADVICE))
    return runtime, api, deadline


def open_model(api: RuntimeApi, args, runtime: dict, content: bytes | None = None) -> tuple:
    """(interpreter, init ms, notes, delegation): the model loaded with the given delegate and the
    runtime's default ones (XNNPACK), or with the builtin kernels when XNNPACK refuses it.

    ``content``: a model in memory (an operator's copy) instead of the file ``args.model``."""
    delegates = _delegates(api, args, runtime)
    notes = []
    start = time.perf_counter()
    try:
        interpreter = _load(api, args, delegates, default_delegates=True, content=content)
    except Exception as exc:
        if not (XNNPACK_FAILED.search(str(exc)) and api.op_resolver_type is not None):
            raise load_failure(args.model, exc)
        # Like benchmark_model --use_xnnpack=false: the builtin kernels run what XNNPACK rejects.
        notes.append("XNNPACK could not take the model (%s); measured with the builtin kernels"
                     % _one_line(exc, 160))
        start = time.perf_counter()
        try:
            interpreter = _load(api, args, delegates, default_delegates=False, content=content)
        except Exception as exc2:
            raise load_failure(args.model, exc2)
    init_ms = (time.perf_counter() - start) * 1000.0
    return interpreter, init_ms, notes, delegation(interpreter, args.delegate)


def _delegates(api: RuntimeApi, args, runtime: dict) -> list:
    """The ``--delegate`` library loaded (a fresh instance for each interpreter), else none."""
    if not args.delegate:
        return []
    try:
        return [api.load_delegate(args.delegate)]
    except Exception as exc:
        raise AgentFailure("runtime_missing", "delegate library %s could not be loaded by %s: %s; install "
                           "it on this device (for Coral: the Edge TPU runtime, libedgetpu1-std)"
                           % (args.delegate, runtime["name"], _one_line(exc)))


def interpreter_nodes(interpreter) -> list:
    """(type, input tensors, output tensors) of each node: the model's operators in order, then one
    ``DELEGATE`` node per partition a delegate took. Raises on a runtime without the node accessors."""
    inner = getattr(interpreter, "_interpreter", None)
    return [(str(inner.NodeName(i)), [int(t) for t in inner.NodeInputs(i)], [int(t) for t in inner.NodeOutputs(i)])
            for i in range(int(inner.NumNodes()))]


def delegation(interpreter, requested) -> dict:
    """Which delegate ran the model and how many of its ops it took, read from the interpreter's nodes.

    The runtime keeps the model's own nodes and appends one ``DELEGATE`` node per partition a
    delegate took; a partition's ops are those its outputs depend on back to its inputs. The
    Python API does not say which delegate owns a partition: with ``--delegate`` they are
    counted for it (XNNPACK, when also applied, takes what it leaves), else for the default
    XNNPACK delegate.
    """
    result = {"requested": requested, "applied": None, "partitions": None, "ops": None, "ops_delegated": None,
              "source": "interpreter nodes", "note": None}
    try:
        nodes = interpreter_nodes(interpreter)
    except Exception as exc:  # a runtime without the node accessors
        result["note"] = "this runtime does not expose its nodes (%s); delegation unknown" % _one_line(exc, 120)
        result["source"] = None
        return result
    own = [n for n in nodes if n[0] != "DELEGATE"]
    partitions = [n for n in nodes if n[0] == "DELEGATE"]
    producer = {}
    for index, (_, _, outputs) in enumerate(own):
        for tensor in outputs:
            producer[tensor] = index
    taken = set()
    for _, inputs, outputs in partitions:
        frontier, boundary = list(outputs), set(inputs)
        while frontier:
            tensor = frontier.pop()
            index = producer.get(tensor)
            if tensor in boundary or index is None or index in taken:
                continue
            taken.add(index)
            frontier.extend(own[index][1])
    result.update(applied=[requested or "XNNPACK"] if partitions else [], partitions=len(partitions),
                  ops=len(own), ops_delegated=len(taken))
    return result


# --------------------------------------------------------------------------- per-operator profile

# flatbuffers field ids of the TFLite schema: Model.subgraphs, Model.signature_defs, SubGraph.inputs/outputs/operators
MODEL_SUBGRAPHS, MODEL_SIGNATURE_DEFS = 2, 7
SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS, SUBGRAPH_OPERATORS = 1, 2, 3


def _field(data, table: int, field_id: int):
    """Where a flatbuffers table keeps a field (its vtable says), or None when the field is absent."""
    vtable = table - struct.unpack_from("<i", data, table)[0]
    slot = 4 + 2 * field_id
    if slot >= struct.unpack_from("<H", data, vtable)[0]:
        return None
    offset = struct.unpack_from("<H", data, vtable + slot)[0]
    return table + offset if offset else None


def _follow(data, position: int) -> int:
    """The object an offset field at ``position`` points to (offsets are unsigned, always forward)."""
    return position + struct.unpack_from("<I", data, position)[0]


def single_op_model(model: bytes, index: int, inputs: list, outputs: list) -> bytes:
    """The model cut down to operator ``index`` of its main subgraph, fed by ``inputs``, giving ``outputs``.

    Patched in place rather than rebuilt, so the agent needs no flatbuffers package: the
    operator list gets length 1 with its first slot pointing at the operator, and the
    subgraph's new input and output lists (and an empty signature list, whose tensors are
    gone) are appended at the end, where forward offsets reach them. Tensors, weights,
    quantization and the other subgraphs stay as they are.
    """
    data = bytearray(model)
    subgraph = _follow(data, _follow(data, _field(data, _follow(data, 0), MODEL_SUBGRAPHS)) + 4)
    operators = _follow(data, _field(data, subgraph, SUBGRAPH_OPERATORS))
    table = _follow(data, operators + 4 + 4 * index)
    if table <= operators + 4:
        raise AgentFailure("model_load", "operator %d lies before the operator list in the file; it cannot be "
                           "timed alone" % index)
    struct.pack_into("<II", data, operators, 1, table - (operators + 4))

    def append(values: list) -> int:
        data.extend(b"\0" * (-len(data) % 4))
        data.extend(struct.pack("<I%di" % len(values), len(values), *values))
        return len(data) - 4 * (len(values) + 1)

    for table_at, field_id, values in ((subgraph, SUBGRAPH_INPUTS, inputs), (subgraph, SUBGRAPH_OUTPUTS, outputs),
                                       (_follow(data, 0), MODEL_SIGNATURE_DEFS, [])):
        position = _field(data, table_at, field_id)
        if position is not None:
            struct.pack_into("<I", data, position, append(values) - position)
    return bytes(data)


def model_ops(interpreter, model: str) -> list:
    """The model's operators in run order: index, type, output name, the tensors that feed it (graph
    inputs and other operators' outputs; weights stay inside) and its outputs."""
    try:
        nodes = [n for n in interpreter_nodes(interpreter) if n[0] != "DELEGATE"]
        graph_inputs = [int(t) for t in interpreter._interpreter.InputIndices()]
    except Exception as exc:
        raise AgentFailure("runtime_missing", "%s: this runtime does not list the model's operators (%s); "
                           "--op-profile needs ai_edge_litert, tflite_runtime or tensorflow.lite"
                           % (model, _one_line(exc, 120)))
    fed = set(graph_inputs) | {t for _, _, outs in nodes for t in outs}
    names = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    return [{"index": i, "type": kind, "name": names.get(outs[0]) if outs else None,
             "inputs": sorted(set(t for t in ins if t in fed), key=ins.index), "outputs": outs}
            for i, (kind, ins, outs) in enumerate(nodes)]


def _model_values(api: RuntimeApi, data: bytes, inputs: list, wanted: set) -> dict:
    """The values of the ``wanted`` tensors in one run of the whole model on ``inputs``, by tensor index,
    so that each operator alone computes on what it gets in the model (an index for a GATHER is in range);
    {} when the runtime cannot keep intermediate tensors (then the operators get random inputs)."""
    try:
        kwargs = {"model_content": data, "experimental_preserve_all_tensors": True}
        if api.op_resolver_type is not None:  # XNNPACK would keep its intermediates to itself
            kwargs["experimental_op_resolver_type"] = api.op_resolver_type.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        reference = api.interpreter(**kwargs)
        reference.allocate_tensors()
        for detail, array in zip(reference.get_input_details(), inputs):
            reference.set_tensor(detail["index"], array)
        reference.invoke()
        return {t: reference.get_tensor(t).copy() for t in wanted}
    except Exception:  # a delegate-only op (Edge TPU), an old runtime: random inputs still time the operator
        return {}


def op_profile(api: RuntimeApi, args, runtime: dict, ops: list, inputs: list, deadline: Deadline,
               model_ms: float) -> dict:
    """Each operator's median time alone (the benchmark's warmup and runs, an even share of the time
    left), its share of their sum and the cumulative share in run order, and a summary by type."""
    with open(args.model, "rb") as fh:
        data = fh.read()
    values = _model_values(api, data, inputs, {t for op in ops for t in op["inputs"]})
    rows = []
    for position, op in enumerate(ops):
        label = "%s: operator %d (%s)" % (args.model, op["index"], op["type"])
        content = single_op_model(data, op["index"], op["inputs"], op["outputs"])
        stop, note = deadline.share(len(ops) - position), None
        try:
            timed = _time_alone(open_model(api, args, runtime, content)[0], values, args, stop)
        except AgentFailure as exc:
            raise AgentFailure(exc.kind, "%s alone: %s" % (label, exc))
        except Exception as exc:
            if not (XNNPACK_FAILED.search(str(exc)) and api.op_resolver_type is not None):
                raise AgentFailure("inference", "%s failed alone: %s" % (label, _one_line(exc)))
            # e.g. a DEQUANTIZE of fp16 weights, which XNNPACK folds into its consumer inside the model
            note = "XNNPACK cannot run it alone (%s); timed with the builtin kernels" % _one_line(exc, 120)
            builtin = _load(api, args, _delegates(api, args, runtime), default_delegates=False, content=content)
            timed = _time_alone(builtin, values, args, stop)
        rows.append({"index": op["index"], "type": op["type"], "name": op["name"],
                     "ms": latency_stats(timed)["p50"], "runs": len(timed), "note": note})
    total = sum(row["ms"] for row in rows)
    return {"method": "each operator timed alone in a one-operator copy of the model (same runtime, threads and "
                      "delegates, %s), median of %d runs after %d warmup; %% = share of the sum of the operators' "
                      "medians" % ("fed the values it gets in the model" if values else "random inputs",
                                   args.runs, args.warmup),
            "inputs": "model" if values else "random",
            "runs_requested": args.runs, "stopped_early": any(row["runs"] < args.runs for row in rows),
            "sum_ms": round(total, 4), "model_ms": round(model_ms, 4),
            "ops": _shares(rows, total, cumulative=True),
            "by_type": _shares(_by_type(rows), total, cumulative=False)}


def _time_alone(interpreter, values: dict, args, stop) -> list:
    """The timed runs of a one-operator model, its inputs the model's own ``values`` where known."""
    details = interpreter.get_input_details()
    generated = make_inputs(details)
    inputs = [generated[i] if values.get(d["index"]) is None else values[d["index"]] for i, d in enumerate(details)]
    return measure(interpreter, inputs, args.warmup, args.runs, stop)[2]


def _by_type(rows: list) -> list:
    """count and summed median per operator type, the most expensive first."""
    types = {}
    for row in rows:
        entry = types.setdefault(row["type"], {"type": row["type"], "count": 0, "ms": 0.0})
        entry["count"] += 1
        entry["ms"] += row["ms"]
    return sorted(types.values(), key=lambda entry: -entry["ms"])


def _shares(rows: list, total: float, cumulative: bool) -> list:
    """``rows`` with their ms rounded, their % of ``total`` and, if asked, the running % in the given order."""
    running, shared = 0.0, []
    for row in rows:
        share = 100.0 * row["ms"] / total
        running += share
        extra = {"cumulative": round(running, 3)} if cumulative else {}
        shared.append(dict(row, ms=round(row["ms"], 4), share=round(share, 3), **extra))
    return shared


def bench(args, output: Output) -> dict:
    for flag in ("threads", "runs"):
        if getattr(args, flag) < 1:
            raise AgentFailure("bad_args", "--%s must be at least 1" % flag)
    if args.warmup < 0:
        raise AgentFailure("bad_args", "--warmup must be 0 or more")
    runtime, api, deadline = _runtime_for(args, output)
    state_before = device_state()
    baseline = memory_mb()
    interpreter, init_ms, notes, delegated = open_model(api, args, runtime)
    after_init = memory_mb()

    input_details = interpreter.get_input_details()
    ops = model_ops(interpreter, args.model) if args.op_profile else []
    try:
        inputs = make_inputs(input_details)
        first_ms, warmup, timed = measure(interpreter, inputs, args.warmup, args.runs, deadline.share(1 + len(ops)))
    except AgentFailure:
        raise
    except Exception as exc:
        raise AgentFailure("inference", "%s: inference failed: %s" % (args.model, _one_line(exc)))
    profile = op_profile(api, args, runtime, ops, inputs, deadline, latency_stats(timed)["p50"]) if ops else None
    final = memory_mb()
    state_after = device_state()
    loaded = load_note(os.getloadavg()[0], usable_cpus())
    if loaded:
        notes.append(loaded)

    timing = {"init": init_ms, "first_inference": first_ms,
              "warmup_mean": sum(warmup) / len(warmup) if warmup else None, "warmup_runs": len(warmup),
              "runs": len(timed), "runs_requested": args.runs}
    timing.update(latency_stats(timed))
    reasons = throttle_reasons(state_before["throttled"], state_after["throttled"])
    result = {
        "schema": SCHEMA, "ok": True,
        "model": {"path": args.model, "size_bytes": os.path.getsize(args.model), "sha256": _sha256(args.model)},
        "runtime": runtime,
        "delegate": args.delegate,
        "delegation": delegated,
        "threads": args.threads,
        "notes": notes,
        "host": host_info(),
        "inputs": _tensor_summary(input_details),
        "outputs": _tensor_summary(interpreter.get_output_details()),
        "timing_ms": _rounded(timing, 4),
        "samples_ms": [round(ms, 4) for ms in timed],   # the timed runs in order: the report's distribution
        "stopped_early": len(timed) < args.runs or len(warmup) < args.warmup,
        "memory_mb": _rounded({"baseline_rss": baseline["rss"], "init_rss": after_init["rss"],
                               "init_footprint": after_init["rss"] - baseline["rss"],
                               "overall_footprint": final["rss"] - baseline["rss"],
                               "peak_rss": final["peak"], "source": final["source"]}, 3),
        "device": {"before": state_before, "after": state_after,
                   "throttled": bool(reasons), "throttle_reasons": reasons},
    }
    if profile is not None:
        result["op_profile"] = profile
    return result


def load_note(load: float, cpus: int):
    """One line when the 1-minute load average exceeds the usable CPUs at the end of the timed runs:
    other work then shared the cores and the latencies are slower than on an idle machine."""
    if load <= cpus:
        return None
    return ("machine loaded: load average %.1f on %d usable CPU(s) during the measurement; latencies "
            "are slower than on an idle machine, measure again when it is idle" % (load, cpus))


def _load(api: RuntimeApi, args, delegates: list, default_delegates: bool, content: bytes | None = None):
    """Interpreter creation + allocate_tensors: what benchmark_model times as init."""
    source = {"model_content": content} if content is not None else {"model_path": args.model}
    kwargs = dict(source, num_threads=args.threads, experimental_delegates=delegates or None)
    if not default_delegates:
        kwargs["experimental_op_resolver_type"] = api.op_resolver_type.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = api.interpreter(**kwargs)
    interpreter.allocate_tensors()
    return interpreter


# --------------------------------------------------------------------------- outputs on given inputs


def _load_inputs(path: str, details: list) -> list:
    """The float32 arrays x0..x(n-1) of ``path``, checked against the model's inputs."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = [np.asarray(data["x%d" % i], dtype=np.float32) for i in range(len(details))]
    except (OSError, ValueError, KeyError) as exc:
        raise AgentFailure("bad_args", "%s: not an inputs file with x0..x%d for the model's %d input(s): %s"
                           % (path, len(details) - 1, len(details), _one_line(exc, 160)))
    for i, (array, detail) in enumerate(zip(arrays, details)):
        if tuple(array.shape[1:]) != tuple(int(d) for d in detail["shape"][1:]) or len(array) != len(arrays[0]):
            raise AgentFailure("bad_args", "%s: x%d has shape %s; the model's input %r takes (N, %s)"
                               % (path, i, list(array.shape), detail["name"],
                                  ", ".join(str(int(d)) for d in detail["shape"][1:])))
    return arrays


def _quantize(x, detail):
    """Float data -> the input's dtype, with its own scale and zero point when it is quantized."""
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    scale, zero = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _save_npz(path: str, arrays: dict) -> None:
    """Write atomically (temp + rename): the host never fetches half a file."""
    import numpy as np

    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.rename(tmp, path)


def run(args, output: Output) -> dict:
    import numpy as np

    runtime, api, deadline = _runtime_for(args, output)
    interpreter, init_ms, notes, delegated = open_model(api, args, runtime)
    ins, outs = interpreter.get_input_details(), interpreter.get_output_details()
    inputs = _load_inputs(args.inputs, ins)
    if any(int(d["shape"][0]) != 1 for d in ins):
        for detail in ins:
            interpreter.resize_tensor_input(detail["index"], [1] + [int(d) for d in detail["shape"][1:]])
        interpreter.allocate_tensors()
    results = [[] for _ in outs]
    start = time.perf_counter()
    try:
        for n in range(len(inputs[0])):
            if deadline.exceeded():
                raise AgentFailure("time_limit", "%s: %d of %d samples run within --max-seconds %g"
                                   % (args.model, n, len(inputs[0]), args.max_seconds))
            for detail, x in zip(ins, inputs):
                interpreter.set_tensor(detail["index"], _quantize(x[n:n + 1], detail))
            interpreter.invoke()
            for slot, detail in enumerate(outs):
                results[slot].append(np.array(interpreter.get_tensor(detail["index"])))
    except AgentFailure:
        raise
    except Exception as exc:
        raise AgentFailure("inference", "%s: inference failed: %s" % (args.model, _one_line(exc)))
    seconds = time.perf_counter() - start
    arrays = {"y%d" % k: np.concatenate(r) for k, r in enumerate(results)}
    _save_npz(args.save, arrays)
    summary = []
    for (key, values), detail in zip(sorted(arrays.items(), key=lambda kv: int(kv[0][1:])), outs):
        rows = values.reshape(len(values), -1)
        scale, zero = detail["quantization"]
        summary.append({"name": detail["name"], "dtype": values.dtype.name, "shape": list(values.shape[1:]),
                        "quantization": [float(scale), int(zero)],
                        "top1": rows.argmax(1).tolist() if rows.shape[1] > 1 else None})
    return {"schema": SCHEMA, "ok": True,
            "model": {"path": args.model, "size_bytes": os.path.getsize(args.model), "sha256": _sha256(args.model)},
            "runtime": runtime, "delegate": args.delegate,
            "delegation": delegated, "threads": args.threads,
            "notes": notes, "host": host_info(), "inputs": _tensor_summary(ins),
            "samples": len(inputs[0]), "outputs": summary,
            "saved": {"path": args.save, "size_bytes": os.path.getsize(args.save), "sha256": _sha256(args.save)},
            "timing_ms": _rounded({"init": init_ms, "total": seconds * 1000.0,
                                   "per_sample": seconds * 1000.0 / max(1, len(inputs[0]))}, 4)}


def _rounded(values: dict, digits: int) -> dict:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in values.items()}


def probe(args) -> dict:
    order = parse_runtime_order(args.runtime)
    runtime, _, tried = find_runtime(order)
    directory = os.path.abspath(os.path.expanduser(args.dir or "."))
    existing = directory
    while not os.path.isdir(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)  # the edgekit dir may not exist yet: its filesystem does
    return {"schema": SCHEMA, "ok": True, "host": host_info(),
            "runtime": {"name": runtime["name"], "version": runtime["version"]} if runtime else None,
            "runtimes_tried": tried, "install_advice": None if runtime else INSTALL_ADVICE,
            "disk_path": existing, "free_disk_bytes": shutil.disk_usage(existing).free}


def failure(kind: str, message: str) -> dict:
    return {"schema": SCHEMA, "ok": False, "error": {"kind": kind, "message": message}}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # JSON, not argparse's usage text, on bad flags
        raise AgentFailure("bad_args", message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edgekit_agent.py", description="edgekit on-device agent")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.required = True
    probe_cmd = commands.add_parser("probe", help="report host, runtime and free disk")
    probe_cmd.add_argument("--dir", help="report free disk for this directory (default: cwd)")
    probe_cmd.add_argument("--runtime", help="runtime order, comma-separated")
    bench_cmd = commands.add_parser("bench", help="benchmark a .tflite model")
    bench_cmd.add_argument("model")
    bench_cmd.add_argument("--threads", type=int, default=1)
    bench_cmd.add_argument("--runs", type=int, default=50)
    bench_cmd.add_argument("--warmup", type=int, default=5)
    bench_cmd.add_argument("--delegate", help="delegate library to load (e.g. libedgetpu.so.1)")
    bench_cmd.add_argument("--runtime", help="runtime order, comma-separated (default: %s)" % ",".join(DEFAULT_RUNTIMES))
    bench_cmd.add_argument("--max-seconds", type=float, help="stop timed runs once this many seconds have passed")
    bench_cmd.add_argument("--op-profile", action="store_true",
                           help="also time each operator alone (one-operator copies of the model)")
    run_cmd = commands.add_parser("run", help="compute a model's outputs on given inputs")
    run_cmd.add_argument("model")
    run_cmd.add_argument("--inputs", required=True, help=".npz with float32 x0, x1, ... (samples first)")
    run_cmd.add_argument("--save", required=True, help=".npz to write the raw outputs y0, y1, ... to")
    run_cmd.add_argument("--threads", type=int, default=1)
    run_cmd.add_argument("--delegate", help="delegate library to load (e.g. libedgetpu.so.1)")
    run_cmd.add_argument("--runtime", help="runtime order, comma-separated (default: %s)" % ",".join(DEFAULT_RUNTIMES))
    run_cmd.add_argument("--max-seconds", type=float, help="give up once this many seconds have passed")
    commands.add_parser("session", help="answer commands given as JSON lines on stdin, one process for all")
    return parser


COMMANDS = {"probe": lambda args, output: probe(args), "bench": bench, "run": run}


def run_script(source: str, argv: list) -> dict:
    """``python -c SOURCE ARGV...`` in this process: its exit status, stdout and last stderr line."""
    import io
    import traceback

    saved, out = (sys.argv, sys.stdout), io.StringIO()
    sys.argv, sys.stdout = ["-c"] + list(argv), out
    status, message = 0, ""
    try:
        exec(compile(source, "<script>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            status = exc.code or 0
        else:
            status, message = 1, str(exc.code)
    except Exception:  # what python -c prints before exiting 1
        status, message = 1, traceback.format_exc().strip().splitlines()[-1]
    finally:
        sys.argv, sys.stdout = saved
    return {"schema": SCHEMA, "ok": True, "status": status, "stdout": out.getvalue(), "stderr": message}


def answer(parser: argparse.ArgumentParser, argv, output: Output) -> tuple:
    """(the JSON answer, exit code) of one command line."""
    if argv[:1] == ["script"] and len(argv) > 1:
        return run_script(argv[1], argv[2:]), 0
    try:
        args = parser.parse_args(argv)
        if args.command not in COMMANDS:
            raise AgentFailure("bad_args", "%s: not a command a session answers" % args.command)
        return COMMANDS[args.command](args, output), 0
    except AgentFailure as exc:
        return failure(exc.kind, str(exc)), EXIT_CODES[exc.kind]


def _remembered(function):
    """``function`` computed once per distinct argument list; a copy of that answer each time after."""
    answers = {}

    def remembered(*args):
        key = json.dumps(args)
        if key not in answers:
            answers[key] = function(*args)
        return copy.deepcopy(answers[key])
    return remembered


class _Requests(object):
    """A session's stdin, read by its own thread, and whether anyone still reads the answers.

    When edgekit dies or its connection drops, sshd ends the session: stdin ends and the answer
    pipe loses its reader. A read-only command in flight then -- probe, bench, run -- is not
    waited for: the process exits at once, releasing the deploy lock it holds
    (edgekit.remote.device_start). A script (an upload block, the switch) is short and changes
    the device: it finishes first. Requests piped in ahead of their answers (stdin ended, the
    reader still there) are all answered.
    """

    def __init__(self, answers_fd: int) -> None:
        self._lines = queue.Queue()
        self._lock = threading.Lock()
        self._read_only = self._gone = False
        self._answers_fd = answers_fd
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in iter(sys.stdin.readline, ""):
            self._lines.put(line)
        self._lines.put(None)
        watch = select.poll()
        watch.register(self._answers_fd, 0)  # POLLERR: the pipe's reader closed it
        watch.poll()
        with self._lock:
            self._gone = True
            if self._read_only:
                os._exit(0)

    def next(self):
        """The next request line; None at EOF."""
        with self._lock:
            self._read_only = False
        return self._lines.get()

    def running(self, command: str) -> None:
        """The request about to run; exits now if its answer has no reader and it is read-only."""
        with self._lock:
            self._read_only = command != "script"
            if self._gone and self._read_only:
                os._exit(0)


def session(parser: argparse.ArgumentParser, output: Output) -> int:
    """Answer one command per stdin line until EOF (see the module's docstring and _Requests).

    What cannot change while the process runs is found once, not per request: the host's facts
    (platform.platform() alone reads the Python binary, 0.2 s on an emulated Pi) and which runtime
    works (each check builds an interpreter); a deploy asks for both three times.
    """
    global host_info, find_runtime
    host_info, find_runtime = _remembered(host_info), _remembered(find_runtime)
    requests = _Requests(output.fd)
    for line in iter(requests.next, None):
        if not line.strip():
            continue
        output.next_request()
        try:
            argv = json.loads(line)
        except ValueError:
            argv = None
        if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
            output.emit(failure("bad_args", "a session request is a JSON list of strings: %s" % _one_line(line, 120)))
            continue
        requests.running(argv[0] if argv else "")
        output.emit(answer(parser, argv, output)[0])
    return 0


def main(argv=None) -> int:
    output = Output()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["session"]:
        return session(parser, output)
    result, code = answer(parser, argv, output)
    output.emit(result)
    return code


if __name__ == "__main__":
    sys.exit(main())
