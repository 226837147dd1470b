"""Keras 3 native model compression: distillation, filter pruning, pruning, clustering, ternary/binary
weights and QAT, each a stage of one engine (``stages.py``, ``engine.py``).

Modelled on tfmot's ``sparsity/keras`` package: a schedule says when and how much, an
algorithm computes masks or centroids, a wrapper applies them in the forward pass so they
survive training, and ``strip_*`` returns a plain Keras model. Importing this package
does not import TensorFlow; the sub-modules do.
"""
