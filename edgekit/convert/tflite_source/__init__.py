"""Post-training quantization of a float ``.tflite`` a user already has, with AI Edge Quantizer.

No TensorFlow: AEQ (``edgekit[aeq]``) rewrites the flatbuffer, LiteRT calibrates and
verifies. edgekit prepares the source (:mod:`.source`), turns options into AEQ recipes
(:mod:`.recipes`), feeds calibration data by signature input name (:mod:`.calibration`),
runs every written file against its source (:mod:`.check`) and writes only what passed
(:mod:`.file`).
"""
