import pytest
import torch

from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint, load_latest, save_checkpoint
from ganfactory.errors import CheckpointError


def _state(value: float) -> dict:
    return {"weights": torch.full((3,), value), "counters": {"kimg": value}}


def test_keeps_last_few_and_points_at_latest(tmp_path):
    for step in range(1, 6):
        save_checkpoint(_state(step), tmp_path, step=step, keep=3)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-000000005.pt", "ckpt-000000004.pt",
                                                            "ckpt-000000003.pt"]
    state, path = load_latest(tmp_path)
    assert path.name == "ckpt-000000005.pt" and state["counters"]["kimg"] == 5
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp files left


def test_damaged_latest_falls_back_to_previous(tmp_path, caplog):
    save_checkpoint(_state(1), tmp_path, step=1)
    latest = save_checkpoint(_state(2), tmp_path, step=2)
    latest.write_bytes(latest.read_bytes()[:40])  # truncated, as a crash on a non-atomic writer would leave it
    state, path = load_latest(tmp_path)
    assert path.name == "ckpt-000000001.pt" and state["counters"]["kimg"] == 1
    assert "Falling back" in caplog.text


def test_missing_latest_falls_back(tmp_path):
    save_checkpoint(_state(1), tmp_path, step=1)
    save_checkpoint(_state(2), tmp_path, step=2).unlink()
    assert load_latest(tmp_path)[0]["counters"]["kimg"] == 1


def test_load_refuses_code_and_names_the_file(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"module": torch.nn.Linear(2, 2)}, path)  # a pickled module is refused by weights_only
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(path)
    assert load_latest(tmp_path / "nothing") is None
