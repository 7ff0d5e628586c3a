"""Reading the original StackGAN data files (CUB-200-2011 / Oxford-102 as the reference distributes them):
`filenames.pickle` (list of str), `char-CNN-RNN-embeddings.pickle` (N x captions x 1024 floats) and
`class_info.pickle` (list of int). Pickles can run code on load, so these go through an unpickler that builds
only lists, tuples, dicts, strings, numbers and numpy arrays, and refuses every other global.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ganfactory.errors import InputError

# The globals a numpy array's pickle needs (numpy 1.x and 2.x spell the module differently), nothing else.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5 arrays
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),  # builds only classes this list allows
    ("_codecs", "encode"),  # protocol-2 pickles from Python 3 spell bytes as _codecs.encode(str, "latin1")
    ("__builtin__", "object"), ("builtins", "object"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain data and numpy arrays; any other global (os.system, eval, a class) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def restricted_load(path: Path) -> Any:
    """The object in a pickle file, built by RestrictedUnpickler. Python 2 pickles decode bytes as latin-1
    (numpy's own convention for its arrays). Raises InputError (one sentence) for a refused or broken file."""
    try:
        data = Path(path).read_bytes()
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise InputError(f"{path} was refused: it is not plain data ({exc}); only lists, strings, numbers and "
                         "numpy arrays are read from a pickle, since a pickle can run code.") from None
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise InputError(f"{path} is not a readable pickle ({type(exc).__name__}); pass the original file.") from None


def _as_strings(value: Any, path: Path) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, bytes)) for v in value):
        raise InputError(f"{path} must hold a list of file names.")
    return [v.decode("utf-8") if isinstance(v, bytes) else v for v in value]


def import_reference_files(folder: Path) -> tuple[list[str], np.ndarray, list[int] | None]:
    """(filenames, embeddings float32 [N, captions, D], class ids or None) of a folder holding the reference's
    `filenames.pickle` and `char-CNN-RNN-embeddings.pickle` (and optionally `class_info.pickle`).
    Raises InputError when a file is missing, refused, or the counts disagree."""
    folder = Path(folder)
    for name in ("filenames.pickle", "char-CNN-RNN-embeddings.pickle"):
        if not (folder / name).is_file():
            raise InputError(f"{folder / name} is missing; the reference layout needs filenames.pickle and "
                             "char-CNN-RNN-embeddings.pickle side by side.")
    names = _as_strings(restricted_load(folder / "filenames.pickle"), folder / "filenames.pickle")
    embeddings = np.asarray(restricted_load(folder / "char-CNN-RNN-embeddings.pickle"), dtype=np.float32)
    if embeddings.ndim == 2:  # some dumps hold one embedding per image
        embeddings = embeddings[:, None, :]
    if embeddings.ndim != 3 or len(embeddings) != len(names):
        raise InputError(f"{folder}: {len(names)} file names but embeddings of shape {embeddings.shape}; the two "
                         "pickles must describe the same images in the same order.")
    classes = None
    if (folder / "class_info.pickle").is_file():
        raw = restricted_load(folder / "class_info.pickle")
        if not isinstance(raw, (list, tuple, np.ndarray)) or len(raw) != len(names):
            raise InputError(f"{folder / 'class_info.pickle'} must hold one class id per file name.")
        classes = [int(c) for c in raw]
    return names, embeddings, classes
