"""Deployment tools: ONNX export, evaluation in ONNX Runtime and its benchmark."""
