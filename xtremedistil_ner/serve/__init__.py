"""Using a trained student: raw text to entities (PyTorch or ONNX), export and int8 quantization."""
