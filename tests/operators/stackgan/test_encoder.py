"""The offline sentence encoder equals sentence-transformers; the restricted unpickler reads only plain data."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from ganfactory.errors import InputError
from ganfactory.operators.stackgan.legacy import import_reference_files, restricted_load
from ganfactory.operators.stackgan.prepare import prepare_stackgan_dataset

SENTENCES = ["LATIN SMALL LETTER A WITH GRAVE, a lowercase letter", "a small bird with red wings and a short beak",
             "ÆØÅ — unicode 字", "x " * 300]  # the last one is cut at max_seq_length (256 tokens)


def test_native_forward_equals_sentence_transformers(encoder) -> None:
    from sentence_transformers import SentenceTransformer

    from ganfactory.operators.stackgan.encoder import default_encoder_path

    assert encoder.backend == "native" and encoder.dim == 384
    reference = SentenceTransformer(str(default_encoder_path()), device="cpu", local_files_only=True)
    expected = reference.encode(SENTENCES, convert_to_numpy=True)
    ours = encoder.encode(SENTENCES)
    assert ours.dtype == np.float32 and ours.shape == (4, 384)
    np.testing.assert_allclose(ours, expected, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps([1, _RunsCode()]))
    with pytest.raises(InputError, match="refused: .*posix.system|refused: .*nt.system"):
        restricted_load(path)
    assert not (Path.cwd() / "pwned").exists() and not (tmp_path / "pwned").exists()
    path.write_bytes(pickle.dumps([np.float32(1.0), pickle.loads]))  # a builtin function is a global, too
    with pytest.raises(InputError, match="refused"):
        restricted_load(path)


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_restricted_unpickler_reads_plain_data(tmp_path: Path, protocol: int) -> None:
    value = [np.arange(6, dtype=np.float32).reshape(1, 2, 3), "name", 3, 2.5, {"k": (1, b"x")}, np.int64(4)]
    path = tmp_path / "ok.pickle"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    loaded = restricted_load(path)
    np.testing.assert_array_equal(loaded[0], value[0])
    assert loaded[1:] == value[1:]


def test_prepare_with_reference_pickles(captioned: Path, tmp_path: Path) -> None:
    """The reference's files, in another order and lacking one image: reordered, the missing one left out."""
    ref = tmp_path / "ref"
    ref.mkdir()
    names = ["flöwers/été", "birds/a", "birds/b", "flöwers/rose"]  # birds/d is missing
    embeddings = np.random.default_rng(0).normal(size=(4, 10, 1024)).astype(np.float32)
    (ref / "filenames.pickle").write_bytes(pickle.dumps(names, protocol=2))
    (ref / "char-CNN-RNN-embeddings.pickle").write_bytes(pickle.dumps(embeddings, protocol=2))
    (ref / "class_info.pickle").write_bytes(pickle.dumps([2, 1, 1, 2], protocol=2))
    assert import_reference_files(ref)[2] == [2, 1, 1, 2]
    out = tmp_path / "out"
    result = prepare_stackgan_dataset(captioned, out, encoder=None, reference=ref)
    assert (out / "filenames.txt").read_text(encoding="utf-8").splitlines() == ["birds/a", "birds/b", "flöwers/rose",
                                                                                 "flöwers/été"]
    saved = np.load(out / "embeddings.npy")
    np.testing.assert_array_equal(saved, embeddings[[1, 2, 3, 0]])
    assert any("order" in line for line in result.report_lines)
    assert any("birds/d.png" in line for line in result.report_lines)
