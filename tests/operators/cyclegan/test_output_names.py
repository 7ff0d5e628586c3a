"""Issue 13, fault 3: two inputs that want one output name (`img000.png` and `img000.jpg`) each get their own
file, and the printed count is the count of files written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganfactory.operators.cyclegan.operator import run_cyclegan

from .conftest import _image, image_files, manifest_lines, tiny_config

pytestmark = pytest.mark.usefixtures("single_thread")


def test_same_stem_with_two_extensions_gives_two_translations(domains, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for index in range(4):
        _image(index, "A").save(source / f"img{index:03d}.png")
    _image(7, "A").save(source / "img000.jpg")
    _image(8, "A").save(source / "img000_png.png")  # a real name equal to a fallback name
    result = run_cyclegan(source, domains[1], tmp_path / "run", tiny_config(max_epoch=1), progress_bar=False)
    written = image_files(result.run.data_dir)
    lines = manifest_lines(result.run.root)
    assert result.images_written == len(written) == len(lines) == 6
    assert len({line["source"] for line in lines}) == 6
    by_input = {Path(line["source_file"]).name: Path(line["source"]).name for line in lines}
    assert by_input["img000.jpg"] == "img000.png" and by_input["img000.png"] == "img000_png.png"
    assert by_input["img000_png.png"] == "img000_png_png.png"
    again = run_cyclegan(source, domains[1], tmp_path / "run", tiny_config(max_epoch=1), progress_bar=False)
    assert again.images_written == 0 and len(manifest_lines(result.run.root)) == 6  # the resume finds them


def test_unique_names_per_folder_and_case_insensitive():
    from ganfactory.output.names import unique_output_paths

    sources = [Path("in/A.png"), Path("in/a.JPG"), Path("in/sub/a.png"), Path("in/b.png")]
    outputs = unique_output_paths(sources, lambda p: Path("out") / p.relative_to("in").with_suffix(".png"))
    assert outputs == {Path("in/A.png"): Path("out/A.png"), Path("in/a.JPG"): Path("out/a_jpg.png"),
                       Path("in/sub/a.png"): Path("out/sub/a.png"), Path("in/b.png"): Path("out/b.png")}
