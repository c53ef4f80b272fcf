"""Serving without training code: raw text -> entities with NumPy, ``tokenizers`` and ONNX Runtime.

Nothing under this package imports torch or transformers; the torch side (:mod:`xtremedistil_ner.serve`)
exports students into what it reads and reuses its word splitting, featurizing, batching and CRF decoding.
"""
