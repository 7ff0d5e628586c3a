"""The run folder's layout is spelled in src/ganfactory/output/ only: every other module reaches a run's files
through output.layout's RunFolder and PairFolder, so a renamed file or folder is one edit."""

from __future__ import annotations

import ast
from pathlib import Path

import ganfactory
from ganfactory.output.layout import RunFolder

ROOT = Path(ganfactory.__file__).parent
OUTPUT = ROOT / "output"
# A run folder's files: never a string of code outside output/ (prose may name them); the manifest's name not even
# in prose, since a reader greps for it
FILE_NAMES = ("progress.json", "output_0.manifest", "stats.jsonl", "generation.json", "candidates.manifest",
              "generator.onnx", "config.json")
NEVER_SPELLED = "output_0.manifest"
# Names joined onto a path (`x / "Data"`) or looked for among a path's parts (`"Data" in parts`)
PATH_PARTS = {"Data", "model", "samples", "logs", "config.json", "latest", "images", "masks", "previews", "dropped"}
# Joins of the same words that are not a run folder's: (module, word) -> whose folder it is
OTHER_FOLDERS = {
    ("jobs/home.py", "logs"): "the job queue's home",
    ("operators/stackgan/encoder.py", "config.json"): "a sentence-transformers model folder",
    ("operators/stackgan/minilm.py", "config.json"): "a MiniLM model folder",
    ("operators/stackgan/data.py", "images"): "a prepared StackGAN dataset",
    ("operators/stackgan/prepare.py", "images"): "a prepared StackGAN dataset",
    ("operators/stackgan/scan.py", "images"): "a captioned dataset",
    ("operators/datasetgan/pairsets.py", "images"): "a folder of real annotated test images",
    ("operators/datasetgan/pairsets.py", "masks"): "a folder of real annotated test images",
    ("operators/datasetgan/cli.py", "images"): "DatasetGAN's annotation folder",
    ("operators/datasetgan/cli.py", "masks"): "DatasetGAN's annotation folder",
    ("operators/datasetgan/layout.py", "images"): "DatasetGAN's annotation folder",
    ("operators/datasetgan/layout.py", "masks"): "DatasetGAN's annotation folder",
}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if OUTPUT not in p.parents)


def _path_words(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, word) of each string in PATH_PARTS used as an operand of `/` or of `in`."""
    found = []
    for node in ast.walk(tree):
        operands: list[ast.expr] = []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands = [node.left, node.right]
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            operands = [node.left]
        found += [(o.lineno, o.value) for o in operands
                  if isinstance(o, ast.Constant) and isinstance(o.value, str) and o.value in PATH_PARTS]
    return found


def _file_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of each string of code (not a docstring) that is, or ends in, one of FILE_NAMES."""
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and any(node.value == name or node.value.endswith("/" + name) for name in FILE_NAMES)]


def test_no_run_folder_file_name_is_spelled_outside_output() -> None:
    spelled = []
    for path in _modules():
        module, text = path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
        spelled += [f"{module}:{number}: {name!r}" for number, name in _file_names(ast.parse(text))
                    if (module, name) not in OTHER_FOLDERS]
        spelled += [f"{module}:{number}: {NEVER_SPELLED}" for number, line in enumerate(text.splitlines(), 1)
                    if NEVER_SPELLED in line]
    assert not spelled, "use output.layout's RunFolder / PairFolder instead:\n" + "\n".join(spelled)


def test_no_run_folder_part_is_joined_outside_output() -> None:
    joined = []
    for path in _modules():
        module = path.relative_to(ROOT).as_posix()
        for number, word in _path_words(ast.parse(path.read_text(encoding="utf-8"))):
            if (module, word) not in OTHER_FOLDERS:
                joined.append(f"{module}:{number}: {word!r}")
    assert not joined, "use output.layout's RunFolder / PairFolder instead:\n" + "\n".join(joined)


def test_the_scan_sees_a_join_and_the_layout_names_its_parts(tmp_path: Path) -> None:
    assert _path_words(ast.parse('root / "Data"\n"model" in parts\n')) == [(1, "Data"), (2, "model")]
    assert _file_names(ast.parse('"""logs/progress.json"""\nx = "logs/progress.json"\n')) == [
        (2, "logs/progress.json")]
    run = RunFolder(tmp_path)
    assert run.progress_path.parent == run.stats_path.parent == run.logs_dir
    assert run.pairs.pair_paths("gen1")["mask"].parent == run.pairs.masks_dir
    assert run.pairs.dropped(run.pairs.pair_paths("gen1")["image"]).parent.parent.parent == run.data_dir
    assert RunFolder.under_data(Path("/old/place/run/Data/cats/a.png")) == Path("Data/cats/a.png")
    assert RunFolder.under_data(Path("/elsewhere/a.png")) is None
