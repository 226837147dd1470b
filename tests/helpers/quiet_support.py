"""What TensorFlow, absl and LiteRT print on stderr, told apart independently of edgekit.quiet's own patterns."""

from __future__ import annotations

# Substrings of the lines a new user saw: TF start-up, GPU probing, grappler, XNNPACK, absl.
NOISE_MARKERS = ("oneDNN", "cudart", "cuInit", "cuda drivers", "XNNPACK", "absl::", "NodeDef mentions",
                 "TF_ENABLE_ONEDNN_OPTS", ".cc:", "tensorflow/core", "WARNING:absl", "site-packages/")


def noise_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that come from TensorFlow/absl/LiteRT logging."""
    return [line for line in stderr.splitlines() if any(marker in line for marker in NOISE_MARKERS)]
