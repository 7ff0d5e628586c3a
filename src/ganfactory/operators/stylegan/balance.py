"""How many images each class gets (--balance, --per-class-target) and where the training images are found.

--balance: every class ends with as many images (real + generated) as the largest real class, plus
--generate-num: class k gets `largest - real_k + generate_num` generated images. So `--generate-num 0 --balance`
only fills the gaps, and the default adds the same number to every class on top of evening them out.
--per-class-target N: class k gets `N - real_k`, so every class ends with exactly N images; an N below the
largest class is refused (that class would need negative images).

The training images are the train split (data/split.py) of --training-data, else of DATA, else of the data
folder the model's run recorded in its config.json.
"""

from __future__ import annotations

from pathlib import Path

from ganfactory.data.discovery import discover_images
from ganfactory.data.split import resolve_split
from ganfactory.errors import ConfigError, InputError
from ganfactory.operators.stylegan.config import GenerationChoices
from ganfactory.output.overlap import recorded_inputs


def class_counts(config: GenerationChoices, class_names: list[str], real_counts: dict[str, int]) -> dict[str, int]:
    """Generated images per class name under --balance or --per-class-target ({} when neither is set).

    real_counts: real training images per class name (a class missing there counts 0). `generate_num` is read
    from the config where it has one. Raises ConfigError for a --per-class-target below the largest class.
    """
    real = {name: int(real_counts.get(name, 0)) for name in class_names}
    if not real or not (config.balance or config.per_class_target is not None):
        return {}
    largest_name = max(real, key=lambda name: real[name])
    largest = real[largest_name]
    if config.per_class_target is not None:
        if config.per_class_target < largest:
            raise ConfigError(f"--per-class-target {config.per_class_target} is below the {largest} real images of "
                              f"class '{largest_name}'; use at least {largest}.")
        return {name: config.per_class_target - count for name, count in real.items()}
    extra = int(getattr(config, "generate_num", 0))
    return {name: largest - count + extra for name, count in real.items()}


def training_folder(config: GenerationChoices, inputs: tuple[Path, ...], model: Path | None) -> Path:
    """--training-data, else DATA, else the data folder recorded by the model's run. Raises InputError."""
    if config.training_data:
        folder = Path(config.training_data).expanduser()
    elif inputs:
        folder = Path(inputs[0])
    else:
        recorded = recorded_inputs(model)
        if not recorded:
            raise InputError(f"--balance, --per-class-target, --max-similarity and --min-class-confidence need the "
                             f"training images, and {model} does not record them; pass --training-data DATA.")
        folder = recorded[0]
        if not folder.is_dir():
            raise InputError(f"The training images folder {folder} that {model}'s run recorded (config.json) is no "
                             "longer there (an older run's relative record is looked for beside the run folder and "
                             "in the folders above it); pass --training-data DATA (the folder the model was trained "
                             "on).")
    if not folder.is_dir():
        raise InputError(f"The training images folder {folder} does not exist; pass --training-data DATA (the "
                         "folder the model was trained on).")
    return folder


def training_root(config: GenerationChoices, inputs: tuple[Path, ...], model: Path | None) -> Path:
    """The folder the training images are read from: the train split of `training_folder`."""
    return resolve_split(training_folder(config, inputs, model)).train


def training_images(config: GenerationChoices, inputs: tuple[Path, ...], model: Path | None) -> dict[str, list[Path]]:
    """The training images by class name (train split only). Raises InputError for a folder without images."""
    return discover_images(training_root(config, inputs, model)).classes
