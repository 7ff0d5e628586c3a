import json

import pytest

from ganfactory.errors import InputError
from ganfactory.output.layout import RunFolder, open_run_folder
from ganfactory.output.manifest import ManifestWriter, class_annotation, make_entry, read_manifest, stable_id


def _entry(name: str) -> dict:
    return make_entry(entry_id=stable_id("op", name), source=f"/out/Data/{name}.png",
                      annotations=[class_annotation("cats")], seed=1, operator="test")


def test_append_is_idempotent_across_reopen(tmp_path):
    path = tmp_path / "output_0.manifest"
    with ManifestWriter(path) as writer:
        assert writer.append(_entry("a")) and writer.append(_entry("b"))
        assert not writer.append(_entry("a"))
    with ManifestWriter(path) as writer:  # a resumed run writes the same entries again
        assert not writer.append(_entry("b"))
        assert writer.append(_entry("c"))
    entries = read_manifest(path)
    assert [e["source"] for e in entries] == ["/out/Data/a.png", "/out/Data/b.png", "/out/Data/c.png"]
    assert entries[0]["annotation"] == [{"name": "cats", "type": "modelarts/image_classification"}]
    assert entries[0]["synthetic"] is True and entries[0]["usage"] == "train"


def test_torn_last_line_is_cut_and_whole_lines_kept(tmp_path):
    path = tmp_path / "m.manifest"
    with ManifestWriter(path) as writer:
        writer.append(_entry("a"))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"id": "half')  # what a crash in the middle of a write leaves
    with ManifestWriter(path) as writer:
        assert len(writer) == 1
        writer.append(_entry("b"))
    assert len(read_manifest(path)) == 2


def test_reader_rejects_bad_lines_with_line_number(tmp_path):
    path = tmp_path / "m.manifest"
    path.write_text(json.dumps(_entry("a")) + "\n" + json.dumps({"id": 1}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="Line 2 .* lacks"):
        read_manifest(path)


def test_unicode_sources_round_trip(tmp_path):
    path = tmp_path / "m.manifest"
    with ManifestWriter(path) as writer:
        writer.append(make_entry(entry_id="x", source="/out/Data/猫/ü.png", annotations=[class_annotation("猫")]))
    assert read_manifest(path)[0]["annotation"][0]["name"] == "猫"
    assert "猫" in path.read_text(encoding="utf-8")


def test_run_folder_layout_and_refuses_output_inside_input(tmp_path):
    run = open_run_folder(tmp_path / "out", inputs=(tmp_path / "data",))
    assert isinstance(run, RunFolder)
    for folder in ("model", "samples", "Data", "logs"):
        assert (tmp_path / "out" / folder).is_dir()
    (tmp_path / "data").mkdir()
    with pytest.raises(InputError, match="inside the input folder"):
        open_run_folder(tmp_path / "data" / "out", inputs=(tmp_path / "data",))
