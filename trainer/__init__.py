"""Training, quantization and evaluation. The only package that imports TensorFlow (lazily, per module)."""
import os

# TensorFlow's C++ start-up chatter would bury the CLI's own output; real errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
