"""Training, quantization and evaluation. The only package that imports TensorFlow (lazily, per module)."""
