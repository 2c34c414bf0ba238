"""Training loop: tf.data augmentation, class balancing, early stopping, reproducible seed."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
import keras

from iqa.auditor.labels import LABELS
from iqa.auditor.patches import PatchPolicy
from iqa.trainer.data import ImageItem, PatchData, check_same_split, concat_patches, load_split_patches
from iqa.trainer.model import ModelConfig, build_model

MODEL_FILE = "model.keras"
CONFIG_FILE = "train_config.json"
HISTORY_FILE = "history.csv"
LR_SCHEDULES = ("plateau", "cosine")
COSINE_FLOOR = 0.01  # the last epochs of a cosine run train at 1 % of the initial rate


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (defaults train the shipped model)."""

    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 2e-3
    patience: int = 5
    seed: int = 1
    max_side: int = 1024
    policy: PatchPolicy = field(default_factory=PatchPolicy)
    model: ModelConfig = field(default_factory=ModelConfig)
    init_from: str = ""  # a run folder whose model.keras is the starting point (fine-tuning); "" = fresh weights
    also: tuple[str, ...] = ()  # more builds whose train split joins the dataset's (other draws, same split)
    # (variant, weight): the loss of that variant's training patches counts ``weight`` times (on top
    # of the class balance); () trains exactly as before, with Keras' class weights
    variant_weights: tuple[tuple[str, float], ...] = ()
    # "plateau": constant rate, cut 0.3x after 2 epochs without a better val loss (the shipped recipe);
    # "cosine": one cosine decay over all ``epochs`` to COSINE_FLOOR of the rate, no plateau cuts
    lr_schedule: str = "plateau"
    # > 0: Adam keeps an exponential moving average of the weights with this momentum and writes it into
    # the model at the end of every epoch, so validation, early stopping and the saved model all see the
    # averaged weights; 0 trains exactly as before
    ema: float = 0.0


@dataclass(frozen=True)
class TrainResult:
    """What a training run left in its folder."""

    run_dir: Path
    history: dict[str, list[float]]
    val_accuracy: float
    epochs_run: int


def augment(x: tf.Tensor, y: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Flips, 90-degree rotations and brightness/contrast jitter; blur and halos are invariant to all."""
    s = tf.random.experimental.stateless_split(seed, 4)
    x = tf.cast(x, tf.float32)
    x = tf.image.stateless_random_flip_left_right(x, s[0])
    x = tf.image.rot90(x, tf.random.stateless_uniform([], s[1], 0, 4, dtype=tf.int32))
    gain = tf.random.stateless_uniform([], s[2], 0.8, 1.2)
    shift = tf.random.stateless_uniform([], s[3], -20.0, 20.0)
    return tf.clip_by_value(x * gain + shift, 0.0, 255.0), y


def make_dataset(data: PatchData, batch: int, seed: int, training: bool,
                 weights: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches of (patch, label) or, with per-patch ``weights``, (patch, label, weight)."""
    ds = tf.data.Dataset.from_tensor_slices((data.x, data.y) if weights is None else (data.x, data.y, weights))
    if training:
        ds = ds.shuffle(min(len(data.y), 50_000), seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        # a weight, when there is one, passes through untouched
        ds = tf.data.Dataset.zip((ds, seeds)).map(lambda xy, s: (*augment(xy[0], xy[1], s), *xy[2:]),
                                                  num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def class_weights(y: np.ndarray) -> dict[int, float]:
    """Inverse-frequency weights so each class counts equally."""
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    return {i: float(len(y) / (len(LABELS) * c)) if c else 0.0 for i, c in enumerate(counts)}


def sample_weights(y: np.ndarray, variants: np.ndarray, variant_weights: dict[str, float]) -> np.ndarray:
    """Per-patch loss weights: the class balance of :func:`class_weights` times each patch's variant weight."""
    per_class = class_weights(y)
    w = np.array([per_class[c] for c in range(len(LABELS))], np.float32)[y]
    for variant, weight in variant_weights.items():
        w[variants == variant] *= np.float32(weight)
    return w


def learning_rate(config: TrainConfig, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's rate: a constant (plateau cuts come from a callback) or a per-step cosine decay."""
    if config.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {config.lr_schedule!r}; expected one of {LR_SCHEDULES}")
    if config.lr_schedule == "plateau":
        return config.learning_rate
    return keras.optimizers.schedules.CosineDecay(config.learning_rate, max(1, config.epochs * steps_per_epoch),
                                                  alpha=COSINE_FLOOR)


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam at the configured rate, averaging its weights once per epoch when ``config.ema`` > 0."""
    if not 0 <= config.ema < 1:
        raise ValueError(f"EMA momentum must be in [0, 1), got {config.ema}")
    rate = learning_rate(config, steps_per_epoch)
    if not config.ema:
        return keras.optimizers.Adam(rate)
    return keras.optimizers.Adam(rate, use_ema=True, ema_momentum=config.ema,
                                 ema_overwrite_frequency=max(1, steps_per_epoch))


def _patch_variants(items: list[ImageItem], data: PatchData) -> np.ndarray:
    return np.array([it.variant for it in items], dtype=object)[data.image]


def train(dataset: str | Path, run_dir: str | Path, config: TrainConfig = TrainConfig(),
          progress: Callable[[int], None] | None = None, verbose: int = 2) -> TrainResult:
    """Train the patch CNN on ``dataset``'s train split, early-stopped on its val split.

    The train splits of ``config.also`` (other draws of degradations of the same source split,
    checked by :func:`check_same_split`) join the dataset's; validation stays the dataset's own.

    Writes ``model.keras``, ``history.csv`` and ``train_config.json`` into ``run_dir``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    check_same_split(dataset, config.also)
    loaded = [load_split_patches(d, "train", config.policy, config.max_side, progress=progress)
              for d in (dataset, *config.also)]
    train_data = concat_patches([data for _, data in loaded])
    weights = None
    if config.variant_weights:
        variants = np.concatenate([_patch_variants(items, data) for items, data in loaded])
        weights = sample_weights(train_data.y, variants, dict(config.variant_weights))
    _, val_data = load_split_patches(dataset, "val", config.policy, config.max_side, progress=progress)
    if len(train_data.y) == 0 or len(val_data.y) == 0:
        raise ValueError(f"no training or validation patches in {dataset}")
    if config.init_from:
        model = keras.models.load_model(Path(config.init_from) / MODEL_FILE)
    else:
        model = build_model(config.model)
    steps_per_epoch = -(-len(train_data.y) // config.batch_size)
    model.compile(optimizer=make_optimizer(config, steps_per_epoch),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True),
        *([keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2, min_lr=1e-5)]
          if config.lr_schedule == "plateau" else []),
        keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE)),
    ]
    hist = model.fit(make_dataset(train_data, config.batch_size, config.seed, True, weights),
                     validation_data=make_dataset(val_data, 512, config.seed, False),
                     epochs=config.epochs, class_weight=class_weights(train_data.y) if weights is None else None,
                     callbacks=callbacks, verbose=verbose)
    model.save(run_dir / MODEL_FILE)
    (run_dir / CONFIG_FILE).write_text(json.dumps({"dataset": str(Path(dataset).resolve()), **asdict(config)},
                                                  indent=2, default=str), encoding="utf-8")
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    best = int(np.argmin(history["val_loss"]))
    return TrainResult(run_dir, history, history["val_accuracy"][best], len(history["val_loss"]))


def load_train_config(run_dir: str | Path) -> tuple[TrainConfig, str]:
    """The config a run was trained with, and its dataset path."""
    raw = json.loads((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    cfg = TrainConfig(epochs=raw["epochs"], batch_size=raw["batch_size"], learning_rate=raw["learning_rate"],
                      patience=raw["patience"], seed=raw["seed"], max_side=raw["max_side"],
                      policy=PatchPolicy(**raw["policy"]), model=ModelConfig(**raw["model"]),
                      init_from=raw.get("init_from", ""), also=tuple(raw.get("also", ())),
                      variant_weights=tuple((str(v), float(w)) for v, w in raw.get("variant_weights", ())),
                      lr_schedule=raw.get("lr_schedule", "plateau"), ema=float(raw.get("ema", 0.0)))
    return cfg, raw["dataset"]


def read_history(run_dir: str | Path) -> dict[str, list[float]]:
    """Per-epoch metrics from ``history.csv``."""
    with open(Path(run_dir) / HISTORY_FILE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {}) if k != "epoch"}
