"""TFLite conversion of the Keras patch model: full-integer int8 (with a representative dataset) and float."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Iterator

import numpy as np
import tensorflow as tf
import keras


def _representative(patches: np.ndarray, limit: int) -> Iterator[list[np.ndarray]]:
    # A black and a white patch first pin the input range to exactly 0..255 (scale 1, zero point 0).
    size = patches.shape[1]
    for value in (0.0, 255.0):
        yield [np.full((1, size, size, 3), value, np.float32)]
    rng = np.random.default_rng(0)
    idx = rng.choice(len(patches), size=min(limit, len(patches)), replace=False)
    for i in idx:
        yield [patches[i : i + 1].astype(np.float32)]


def convert_int8(model: keras.Model, representative: np.ndarray, limit: int = 500) -> bytes:
    """Convert to a TFLite flatbuffer with int8 weights/activations, uint8 input and int8 logits.

    Parameters
    ----------
    model : Keras model taking raw 0-255 float pixels.
    representative : (n, s, s, 3) uint8 patches drawn from the training data.
    limit : number of representative patches used to calibrate activation ranges.
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: _representative(representative, limit)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.int8
    return _quiet_convert(converter)


def convert_float(model: keras.Model) -> bytes:
    """Float32 TFLite flatbuffer of the same model (for the int8-vs-float comparison)."""
    return _quiet_convert(tf.lite.TFLiteConverter.from_keras_model(model))


def _quiet_convert(converter: tf.lite.TFLiteConverter) -> bytes:
    # the converter prints its SavedModel signature to stdout; keep the CLI's output clean
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def write_model(flatbuffer: bytes, path: str | Path) -> Path:
    """Write a flatbuffer, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flatbuffer)
    return path
