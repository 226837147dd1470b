"""Sparse form: the converter's own sparse encoding of pruned int8 weights.

TFLite stores int8 kernels with all-zero 1x16 blocks in a block-sparse format (CSR over
blocks) when the converter is asked for ``EXPERIMENTAL_SPARSITY``. Per-channel scales in
that format run silently wrong on tflite-runtime 2.14 and TFLite Micro, so the form
converts with per-tensor scales (its registry entry sets ``per_tensor``).
"""

from __future__ import annotations

from edgekit.errors import StorageError


def make(job) -> tuple[bytes, list[dict]]:
    from edgekit.inspect import read_tflite

    if job.reconvert is None:
        raise StorageError(f"{job.where}: sparse storage is made by the converter; use it with edgekit convert")
    flatbuffer = job.reconvert(sparsity=True)
    model = read_tflite(flatbuffer)
    records = [{"tensor": t.name, "format": "sparse", "bytes": t.nbytes, "dense_bytes": t.dense_nbytes}
               for t in model.main.tensors if t.sparsity is not None]
    if not records:
        raise StorageError(f"{job.where}: no kernel has enough all-zero 1x16 blocks for the sparse encoding; prune "
                           "in blocks of 16 (edgekit optimize --prune 0.8 --block-size 16) first")
    return flatbuffer, records
