"""One rule for every command that writes: no input may share a folder with an output.

An input folder inside an output folder gets overwritten (a CycleGAN SOURCE inside OUT/Data/ was
replaced by its own translations); an output folder inside an input folder adds files to the user's
data (the next training run then reads them as images). Both directions, and equality, are refused
before anything is written. Paths are compared after resolving symlinks, so `OUT/Data -> data/` or a
symlinked OUT is caught as well; a path that does not exist yet resolves through its existing parents.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ganfactory.errors import InputError


def _real(path: Path) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def _kind(given: Path, real: Path) -> str:
    return "file" if real.is_file() or (not real.exists() and given.suffix) else "folder"


def _message(given_in: Path, real_in: Path, given_out: Path, real_out: Path, command: str) -> str | None:
    """One sentence for an overlapping pair, or None when the two resolved paths are apart."""
    the_input = f"input {_kind(given_in, real_in)} {given_in}"
    the_output = f"output {_kind(given_out, real_out)} {given_out}"
    if real_in == real_out:
        problem = f"The {the_output} is the {the_input}"
    elif real_out in real_in.parents:
        problem = f"The {the_input} lies inside the {the_output}, which {command or 'this command'} writes"
    elif real_in in real_out.parents:
        problem = f"The {the_output} lies inside the {the_input}"
    else:
        return None
    if given_out.absolute() != real_out:
        problem += f" (through a symlink: it resolves to {real_out})"
    return f"{problem}; choose an output location apart from every input so that no input file is changed."


def refuse_overlap(*, inputs: Iterable[Path | None], outputs: Iterable[Path | None], command: str = "") -> None:
    """Raise InputError when any input path equals, lies inside or contains any output path.

    inputs: folders or files the command reads and must never change (None entries are ignored).
    outputs: folders or files the command writes or creates (OUT, OUT/Data, a --json file, ...).
    command: the command's name for the message. Both sides are resolved (symlinks followed, missing
    parts kept as given) before comparing. Nothing is created or written.
    """
    sources = [(Path(i), _real(i)) for i in inputs if i is not None]
    for given_out in (Path(o) for o in outputs if o is not None):
        real_out = _real(given_out)
        for given_in, real_in in sources:
            message = _message(given_in, real_in, given_out, real_out, command)
            if message is not None:
                raise InputError(message)


def recorded_inputs(model: Path | None) -> list[Path]:
    """The data folders a model's run was trained on (from its config.json), to protect and read them too.

    model: a run folder, its model/ folder or a checkpoint inside it; None gives []. Runs record absolute paths;
    an older run's relative record is located from the run folder, never from the current folder
    (`locate_recorded`).
    """
    if model is None:
        return []
    model = Path(model)
    candidates = [model, model.parent, model.parent.parent] if not model.is_dir() else [model, model.parent]
    for root in candidates:
        config = root / "config.json"
        if config.is_file():
            try:
                data = json.loads(config.read_text(encoding="utf-8", errors="surrogateescape"))
            except (OSError, ValueError):
                return []
            if not isinstance(data, dict):
                return []
            return [locate_recorded(data[key], root) for key in ("data", "source", "target")
                    if isinstance(data.get(key), str) and data[key]]
    return []


def locate_recorded(recorded: str, run_root: Path) -> Path:
    """The path a run recorded, as it is now. An absolute record is taken as it is. A relative one (runs before
    absolute records) was relative to the folder the run was started in, which config.json does not name; that
    folder held OUT, so it is an ancestor of the run folder in the usual layout: the nearest ancestor where the
    path exists wins. None found: the path beside the run folder (missing, so a reader refuses it)."""
    path = Path(recorded).expanduser()
    if path.is_absolute():
        return path
    root = Path(os.path.abspath(run_root))
    for ancestor in root.parents:  # OUT itself is never a candidate: an input inside OUT is refused
        if (ancestor / path).exists():
            return ancestor / path
    return root.parent / path
