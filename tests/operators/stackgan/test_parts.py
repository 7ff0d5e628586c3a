"""stackgan-prepare --parts: CUB's parts/parts.txt and parts/part_locs.txt carried through in images.txt's order,
line by line, and one-sentence errors for bad part files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.run_outputs import tree_digest

from ganfactory.cli import main
from ganfactory.errors import InputError
from ganfactory.operators.stackgan.prepare import prepare_stackgan_dataset

NAMES = "1 beak\n2 left eye\n\n3 tail\n"
# out of order, a left-out image (birds/c.png has no caption file), a name with a non-ASCII character
LOCATIONS = """flöwers/été.png 2 10.5 3 1
birds/a.png 3 20 18 1
birds/c.png 1 4 4 1
birds/a.png 1 5 6 1
birds/d.png 2 0 0 0
"""


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _part_folder(root: Path, names: str = NAMES, locations: str = LOCATIONS) -> Path:
    folder = root / "parts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parts.txt").write_text(names, encoding="utf-8")
    (folder / "part_locs.txt").write_text(locations, encoding="utf-8")
    return folder


def test_parts_in_images_order_line_by_line(captioned: Path, tmp_path: Path, encoder) -> None:
    folder = _part_folder(tmp_path)
    before = tree_digest(folder)
    out = tmp_path / "prepared"
    prepare_stackgan_dataset(captioned, out, encoder=encoder, parts=folder)
    assert tree_digest(folder) == before  # the user's files are read only
    assert _lines(out / "images.txt") == ["1 birds/a.png", "2 birds/b.png", "3 birds/d.png", "4 flöwers/rose.png",
                                          "5 flöwers/été.png"]
    assert _lines(out / "parts/parts.txt") == ["1 beak", "2 left eye", "3 tail"]
    assert _lines(out / "parts/part_locs.txt") == [
        "1 1 5 6 1", "1 2 0 0 0", "1 3 20 18 1",  # birds/a.png
        "2 1 0 0 0", "2 2 0 0 0", "2 3 0 0 0",  # birds/b.png: no line at all
        "3 1 0 0 0", "3 2 0 0 0", "3 3 0 0 0",  # birds/d.png: part 2 given as not visible
        "4 1 0 0 0", "4 2 0 0 0", "4 3 0 0 0",  # flöwers/rose.png
        "5 1 0 0 0", "5 2 10.5 3 1", "5 3 0 0 0"]  # flöwers/été.png
    report = json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["problems"]["no_part_locations"] == ["birds/b.png", "flöwers/rose.png"]
    # parts.txt given as a file, part_locs.txt elsewhere
    elsewhere = tmp_path / "locs.txt"
    elsewhere.write_text("flöwers/rose.png 3 1 2 1\n", encoding="utf-8")
    prepare_stackgan_dataset(captioned, tmp_path / "two", encoder=encoder, parts=folder / "parts.txt",
                             part_locs=elsewhere)
    assert _lines(tmp_path / "two/parts/part_locs.txt")[9:12] == ["4 1 0 0 0", "4 2 0 0 0", "4 3 1 2 1"]
    prepare_stackgan_dataset(captioned, tmp_path / "none", encoder=encoder)
    assert not (tmp_path / "none/parts").exists()


@pytest.mark.parametrize("names, locations, expected", [
    ("1 beak\nwing\n", LOCATIONS, "Line 2 of .*parts.txt is not '<part id> <part name>'"),
    ("1 beak\n1 crown\n", LOCATIONS, "Line 2 of .*parts.txt repeats part id 1"),
    (NAMES, "birds/a.png 1 5 6\n", "Line 1 of .*part_locs.txt is not '<class>/<image> <part id> x y visible'"),
    (NAMES, "birds/a.png 1 5 6 1\nbirds/a.png 1 five 6 1\n", "Line 2 of .*part_locs.txt is not"),
    (NAMES, "birds/a.png 1 5 6 2\n", "Line 1 of .*part_locs.txt is not .*visible 0 or 1"),
    (NAMES, "birds/a.png 1 5 6 1\nbirds/zebra.png 1 5 6 1\n",
     "Line 2 of .*part_locs.txt names birds/zebra.png, which is not an image in DATA"),
    (NAMES, "birds/a 1 5 6 1\n", "names birds/a, which is not an image"),  # the extension is part of the name
    (NAMES, "birds/a.png 9 5 6 1\n", "Line 1 of .*part_locs.txt names part 9, which .*parts.txt does not list"),
    (NAMES, "birds/a.png 1 5 6 1\nbirds/a.png 1 7 8 1\n", "Line 2 of .*repeats part 1 of birds/a.png"),
])
def test_bad_part_files_are_one_sentence(captioned: Path, tmp_path: Path, names: str, locations: str,
                                         expected: str) -> None:
    folder = _part_folder(tmp_path, names, locations)
    # the part files are checked before the encoder is loaded: this one does not exist
    with pytest.raises(InputError, match=expected) as raised:
        prepare_stackgan_dataset(captioned, tmp_path / "out", encoder=str(tmp_path / "no-encoder"), parts=folder)
    assert len(str(raised.value).splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_part_options_on_the_command_line(captioned: Path, tmp_path: Path, capsys) -> None:
    folder = _part_folder(tmp_path, locations="birds/a.png 4 5 6 1\n")
    cases = [(["--parts", folder], "names part 4"),
             (["--parts", tmp_path / "nowhere"], "nowhere does not exist"),
             (["--parts", folder / "parts.txt", "--part-locs", tmp_path / "x.txt"], "x.txt does not exist"),
             (["--part-locs", folder / "part_locs.txt"], "--part-locs needs --parts")]
    for extra, expected in cases:
        code = main([str(a) for a in ["-q", "stackgan-prepare", captioned, tmp_path / "out", *extra]])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and expected in err, err
