"""The compact patch CNN (Keras 3). Input: raw 0-255 pixels; output: logits (no softmax)."""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from iqa.auditor.labels import LABELS


@dataclass(frozen=True)
class ModelConfig:
    """Architecture knobs compared on the validation split (see README)."""

    patch_size: int = 64
    width: int = 16  # channels of the first convolution; doubled twice, then held
    blocks: int = 4  # stride-2 conv blocks
    stem_stride: int = 2  # 1 keeps full resolution in the first layer (4x the cost)
    dropout: float = 0.3
    # depthwise-separable blocks after the first (a 3x3 depthwise then a 1x1 convolution): about a
    # third of the multiply-adds of full 3x3 convolutions at the same width
    separable: bool = False


def build_model(cfg: ModelConfig = ModelConfig()) -> keras.Model:
    """A small all-convolutional classifier; rescaling lives inside so int8 input is raw uint8."""
    inputs = keras.Input((cfg.patch_size, cfg.patch_size, 3), name="patch")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    channels = cfg.width
    for i in range(cfg.blocks):
        stride = cfg.stem_stride if i == 0 else 2
        x = _conv_block(x, channels, stride, cfg.separable and i > 0)
        if i < 2:
            channels *= 2
    x = _conv_block(x, channels, 1, cfg.separable)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(cfg.dropout)(x)
    outputs = layers.Dense(len(LABELS), name="logits")(x)
    return keras.Model(inputs, outputs, name="iqa_patch_cnn")


def _conv_block(x: keras.KerasTensor, channels: int, stride: int, separable: bool) -> keras.KerasTensor:
    """3x3 convolution (or depthwise 3x3 + pointwise 1x1), each followed by BatchNorm and ReLU."""
    if separable:
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        stride = 1
    x = layers.Conv2D(channels, 1 if separable else 3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)
