"""``iqa dataset build``, ``iqa train``, ``iqa quantize`` and ``iqa evaluate``.

Each command parses, calls one library function and renders; libraries are imported inside
the command so `iqa audit` and `iqa check` never pay for them (TensorFlow least of all).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from iqa.auditor.defaults import PATCH_SIZE, TRAINING_PATCH_COUNT


def _require_tensorflow() -> None:
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        raise click.ClickException("this command needs TensorFlow: pip install 'iqa[train]' (or '.[train]')")


def _bar(total: int, desc: str, quiet: bool = False):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=quiet, file=click.get_text_stream("stderr"))


@click.group(name="dataset")
def dataset_group() -> None:
    """Build labelled training data from folders of good photos."""


@dataset_group.command(name="build")
@click.option("--source", "sources", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of good (sharp, unprocessed) photos; repeatable; walked recursively.")
@click.option("--cifar", type=click.Path(exists=True, file_okay=False), help="Local CIFAR-10 python batches.")
@click.option("--cifar-limit", type=int, default=None, help="Use at most this many CIFAR-10 images.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split-seed", type=int, default=None,
              help="Seed of the train/val/test split of the sources (default: --seed). Keep it and change "
                   "--seed to draw new degradations of the same training photos.")
@click.option("--layout", type=click.Choice(["splits", "seed"]), default="splits", show_default=True,
              help="splits: train/val/test x label; seed: the seed project's original/ sharp/ blurry/ folders.")
@click.option("--count", type=int, default=500, show_default=True, help="Images per class (seed layout).")
@click.option("--workers", type=int, default=0, help="Worker processes (default: all cores).")
@click.option("--quiet", is_flag=True)
def dataset_build(sources: tuple[str, ...], cifar: str | None, cifar_limit: int | None, out: str, seed: int,
                  split_seed: int | None, layout: str, count: int, workers: int, quiet: bool) -> None:
    """Degrade good photos into blurry / original / sharp samples plus OUT/manifest.csv."""
    from iqa.dataset.build import BuildConfig, build_dataset, list_sources
    from iqa.dataset.cifar import CifarError

    if not sources and not cifar:
        raise click.UsageError("give at least one --source folder or --cifar")
    try:
        found = list_sources(sources, cifar, cifar_limit)
    except CifarError as exc:
        raise click.ClickException(str(exc)) from exc
    if not found:
        raise click.ClickException("no readable images found in the sources")
    config = BuildConfig(seed=seed, split_seed=split_seed, layout=layout, count=count, workers=workers)
    n = min(len(found), count) if layout == "seed" else len(found)
    with _bar(n, "sources", quiet) as bar:
        report = build_dataset(found, out, config, progress=bar.update)
    for key, reason in report.skipped:
        click.echo(f"warning: skipped {key!r}: {reason}", err=True)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    click.echo(f"{report.samples} images from {report.sources - len(report.skipped)} sources ({counts}); "
               f"{len(report.skipped)} skipped -> {report.out}", err=True)


def _variant_weights(values: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """``("native=2",)`` -> ``(("native", 2.0),)``; a malformed or non-positive weight is a usage error."""
    from iqa.dataset.recipes import VARIANTS

    out: dict[str, float] = {}
    for text in values:
        variant, _, weight = text.partition("=")
        try:
            w = float(weight)
        except ValueError:
            w = float("nan")
        if variant not in VARIANTS or not 0 < w < float("inf"):
            raise click.BadParameter(f"{text!r}: expected VARIANT=W with W > 0 and VARIANT one of"
                                     f" {', '.join(VARIANTS)}")
        out[variant] = w
    return tuple(out.items())


@click.command(name="train")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--learning-rate", type=float, default=2e-3, show_default=True)
@click.option("--patience", type=int, default=5, show_default=True, help="Early-stopping patience (epochs).")
@click.option("--lr-schedule", type=click.Choice(["plateau", "cosine"]), default="plateau", show_default=True,
              help="plateau: cut the rate 0.3x after 2 epochs without progress; cosine: decay it over all epochs.")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Momentum of an exponential moving average of the weights, written into the model every "
                   "epoch (e.g. 0.999); 0: off.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--patch-size", type=int, default=PATCH_SIZE, show_default=True)
@click.option("--patches", "patch_count", type=int, default=TRAINING_PATCH_COUNT, show_default=True,
              help="Most textured patches per image (at most half of the grid).")
@click.option("--width", type=int, default=16, show_default=True, help="Channels of the first convolution.")
@click.option("--separable", is_flag=True, help="Depthwise-separable blocks after the first convolution "
                                                 "(a third of the multiply-adds at the same width).")
@click.option("--init-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="Start from this run's model.keras (fine-tuning) instead of fresh weights.")
@click.option("--also", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Another build whose train split joins DATASET's (another draw made with the same "
                   "--split-seed); repeatable. Validation stays DATASET's.")
@click.option("--weight", "variant_weights", multiple=True, callback=lambda ctx, param, v: _variant_weights(v),
              metavar="VARIANT=W", help="Weigh the loss of one variant's training patches W times (e.g. "
                                        "native=2); repeatable. Default: every variant 1.")
def train_command(dataset: str, run_dir: str, epochs: int, batch_size: int, learning_rate: float, patience: int,
                  seed: int, patch_size: int, patch_count: int, width: int, init_from: str | None,
                  also: tuple[str, ...], variant_weights: tuple[tuple[str, float], ...], separable: bool,
                  lr_schedule: str, ema: float) -> None:
    """Train the patch CNN on DATASET (built by `iqa dataset build`)."""
    _require_tensorflow()
    from iqa.auditor.patches import PatchPolicy
    from iqa.trainer.model import ModelConfig
    from iqa.trainer.report import write_run_report
    from iqa.trainer.train import TrainConfig, train

    config = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience,
                         seed=seed, policy=PatchPolicy(patch_size, patch_count),
                         model=ModelConfig(patch_size=patch_size, width=width, separable=separable), init_from=init_from or "",
                         also=tuple(str(Path(a).resolve()) for a in also), variant_weights=variant_weights,
                         lr_schedule=lr_schedule, ema=ema)
    try:
        result = train(dataset, run_dir, config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    page = write_run_report(result.run_dir, dataset, config)
    click.echo(f"best val accuracy {result.val_accuracy:.4f} after {result.epochs_run} epochs; "
               f"model and plots in {result.run_dir} (report: {page})", err=True)


# shared by quantize and recalibrate; the caps are trainer.calibrate.CalibrationPolicy's defaults
SOURCES_OPTION = click.option(
    "--sources", "source_roots", multiple=True, type=click.Path(exists=True, file_okay=False),
    help="The --source folder(s) the dataset was built from, in order: its validation photos at native size cap "
         "how often untouched photos are called blurry (1 %) or over-sharpened (1 %).")


@click.command(name="quantize")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Output .tflite path.")
@click.option("--calibration", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Labelled folder(s) of real blurry/original photos to calibrate the decision on.")
@click.option("--name", default=None, help="Model name stored in the metadata.")
@click.option("--patch-count", type=click.IntRange(1, 256), default=None,
              help="How many of the most textured patches the auditor analyses per photo [default: 24].")
@click.option("--trim-fraction", type=click.FloatRange(0.0, 0.9), default=None,
              help="Share of the sharpest-looking patches the verdict ignores [default: 0].")
@click.option("--keep-fraction", type=click.FloatRange(0.05, 1.0), default=None,
              help="The verdict averages the patches ranked trim..keep, sharpest first [default: 0.5].")
@click.option("--head/--no-head", default=True, show_default=True,
              help="Fit the image-level blur head on the validation split (--no-head: the band's mean decides).")
@SOURCES_OPTION
def quantize_command(run_dir: str, out: str, calibration: tuple[str, ...], name: str | None,
                     patch_count: int | None, trim_fraction: float | None, keep_fraction: float | None,
                     head: bool, source_roots: tuple[str, ...]) -> None:
    """Convert a training run to a full-integer int8 TFLite model with calibrated metadata."""
    _require_tensorflow()
    from iqa.trainer import export
    from iqa.trainer.evaluate import format_summary
    from iqa.trainer.image_head import HeadConfig

    report = export.quantize_run(run_dir, out, calibration, name=name,
                                 patch_count=patch_count or export.AUDIT_PATCH_COUNT,
                                 keep_fraction=export.KEEP_FRACTION if keep_fraction is None else keep_fraction,
                                 trim_fraction=export.TRIM_FRACTION if trim_fraction is None else trim_fraction,
                                 head=HeadConfig() if head else None, source_roots=source_roots)
    click.echo(f"int8 model: {report.model_path} ({report.size_bytes / 1024:.0f} KiB), "
               f"metadata: {report.metadata_path}")
    click.echo(f"test patch accuracy: float {report.float_accuracy:.4f}, int8 {report.int8_accuracy:.4f} "
               f"(loss {100 * report.int8_loss:.2f} points; budget {100 * export.MAX_INT8_LOSS:.0f})")
    click.echo(f"calibrated bias: {', '.join(f'{b:+.2f}' for b in report.bias)}; temperature {report.temperature:.2f}")
    click.echo("\n== test split (image level)\n" + format_summary(report.test))
    if report.calibration:
        click.echo("\n== calibration photos (real blur)\n" + format_summary(report.calibration))
    if not report.within_budget:
        raise click.ClickException("int8 model loses more than the allowed accuracy")


@click.command(name="recalibrate")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--calibration", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Labelled folder(s) of real blurry/original photos to calibrate the decision on.")
@click.option("--head/--no-head", default=True, show_default=True,
              help="Fit the image-level blur head on DATASET's validation split.")
@SOURCES_OPTION
def recalibrate_command(model: str, dataset: str, calibration: tuple[str, ...], head: bool,
                        source_roots: tuple[str, ...]) -> None:
    """Refit an int8 model's image-level rule (head, bias, temperature) on DATASET, in place."""
    _require_tensorflow()
    from iqa.auditor.model import ModelError, metadata_path
    from iqa.auditor.model_meta import read_model_meta
    from iqa.trainer import export
    from iqa.trainer.evaluate import format_summary
    from iqa.trainer.image_head import HeadConfig

    try:
        meta = read_model_meta(metadata_path(model))
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    _, (bias, temperature, test, real) = export.calibrate_model(
        Path(model), meta, dataset, calibration, head=HeadConfig() if head else None, source_roots=source_roots)
    click.echo(f"calibrated bias: {', '.join(f'{b:+.2f}' for b in bias)}; temperature {temperature:.2f}")
    click.echo("\n== test split (image level)\n" + format_summary(test))
    if real:
        click.echo("\n== calibration photos (real blur)\n" + format_summary(real))


@click.command(name="evaluate")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("target", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="test", show_default=True, help="Dataset split (ignored for labelled folders).")
@click.option("-o", "--out", type=click.Path(file_okay=False), default=None, help="Folder for plots and report.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
def evaluate_command(model: str, target: str, split: str, out: str | None, as_json: bool) -> None:
    """Score MODEL (.tflite) on a dataset split or any labelled blurry/ original/ sharp/ tree."""
    from iqa.trainer.evaluate import evaluate, format_summary
    from iqa.trainer.report import write_evaluation_report

    try:
        scored, summary = evaluate(model, target, split)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))
    if out:
        page = write_evaluation_report(Path(out), scored, summary, Path(model).name)
        click.echo(f"plots and report: {page}", err=True)


TRAINING_COMMANDS: list[click.Command] = [dataset_group, train_command, quantize_command, recalibrate_command,
                                          evaluate_command]
