"""The operator battery: the checks every registered operator runs through (in the spirit of diffusers'
ModelTesterMixin). An operator's test package declares it once, in its test_battery.py:

    class TestBattery(OperatorBattery):
        @pytest.fixture(scope="class")
        @classmethod
        def battery_case(cls, two_classes):       # its tiny inputs, from its own conftest
            return BatteryCase(operator="stylegan", inputs=(two_classes,), flags=TINY_FLAGS)

and gets: a few steps move the weights; a SIGKILL in the middle of a checkpoint write loses nothing; a SIGTERM
exits 75 with one line; running the same command again ends bitwise equal to an uninterrupted run (weights,
optimisers, RNG states, counters, generated files); the manifest carries provenance; an ONNX export predicts what
the checkpoint predicts (when the operator has an exporter). tests/operators/test_battery_registry.py checks that
every registered operator has such a declaration, and runs the checks that need no inputs (`--help`, a bad input,
the spec's lazy targets) over the registry itself.

The flags of a case make a tiny run of at least three checkpoints (one per tick): the battery holds the second
write for its SIGKILL and the first write of the rerun for its SIGTERM (battery_child.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint, load_latest
from ganfactory.operators.registry import get_operator
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import read_manifest
from run_outputs import assert_one_line_error, image_files  # noqa: F401 (assert_one_line_error re-exported)

CHILD = Path(__file__).with_name("battery_child.py")
CLI_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
START_TIMEOUT_S = 600  # a loaded 2-core machine starts torch slowly and shares its cores with other jobs
TEMP_GLOB = ".*.tmp-*"  # output.atomic's temporary files


@dataclass(frozen=True)
class BatteryCase:
    """One operator's tiny run, as a command line.

    operator: the registered name; inputs: the folders before OUT; flags: the options of a tiny run (a few steps, a
    checkpoint per tick, at least three ticks; fp32 on the CPU); step: the command's training step when the
    operator's command is a group (datasetgan's "train"); template: a folder copied to OUT before each run (None:
    OUT starts empty); frozen: operator-state keys of networks that training leaves as they are (a finished
    stage's); parity_levels: how far (0-255) a pixel predicted from the ONNX export may be from the checkpoint's.
    """

    operator: str
    inputs: tuple[Path, ...]
    flags: tuple[str, ...]
    step: str | None = None
    template: Path | None = None
    frozen: frozenset[str] = field(default_factory=frozenset)
    parity_levels: int = 2

    def argv(self, out: Path, *extra: str) -> list[str]:
        """The command line of a run into OUT (every checkpoint kept, so the first one can be compared)."""
        return [self.operator, *([self.step] if self.step else []), *map(str, self.inputs), str(out), *self.flags,
                "--keep-checkpoints", "1000", *extra]

    def fresh_out(self, root: Path, name: str) -> Path:
        """root/name, a copy of the template when there is one."""
        out = root / name
        if self.template is not None:
            shutil.copytree(self.template, out)
        return out


@dataclass(frozen=True)
class Interrupted:
    """What the battery saw of one command run three times: SIGKILL mid-checkpoint, SIGTERM, then to the end."""

    out: Path
    killed: subprocess.CompletedProcess
    temp_files_after_kill: list[str]
    latest_after_kill: Path | None  # the checkpoint a resume would read
    newest_after_kill: Path  # the newest complete checkpoint file
    termed: subprocess.CompletedProcess
    final: subprocess.CompletedProcess


def run_in_process(argv: list[str]) -> int:
    """`python -m ganfactory ARGV` in this process on one torch thread (as the subprocesses run); its logging
    set-up is undone afterwards."""
    from ganfactory.cli import main

    root = logging.getLogger()
    handlers, level, threads = root.handlers[:], root.level, torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(argv)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        torch.set_num_threads(threads)


def _held_run(argv: list[str], *, hold_at: int, sig: signal.Signals, workdir: Path) -> subprocess.CompletedProcess:
    """Run the command through battery_child.py, send `sig` while checkpoint write `hold_at` holds, then let it go."""
    marker, release = workdir / f"held-{sig.name}", workdir / f"release-{sig.name}"
    env = {**CLI_ENV, "BATTERY_HOLD_AT": str(hold_at), "BATTERY_MARKER": str(marker), "BATTERY_RELEASE": str(release)}
    with open(workdir / f"stderr-{sig.name}.txt", "w+", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, str(CHILD), *argv], stdout=subprocess.DEVNULL, stderr=stderr,
                                   env=env)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not marker.exists():
                assert process.poll() is None, f"the run ended before checkpoint write {hold_at}"
                assert time.monotonic() < deadline, f"no checkpoint write {hold_at} after {START_TIMEOUT_S} s"
                time.sleep(0.02)
            process.send_signal(sig)
            if sig != signal.SIGKILL:
                time.sleep(0.2)  # the handler runs in the child while it holds: the stop is set before it goes on
                release.touch()
            code = process.wait(timeout=START_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr.seek(0)
        return subprocess.CompletedProcess(argv, code, "", stderr.read())


def checkpoint_folders(run: Path) -> list[Path]:
    """model/ and each stage's model/<stage>/ that holds checkpoints."""
    model = RunFolder(run).model_dir
    return [folder for folder in (model, *sorted(p for p in model.iterdir() if p.is_dir()))
            if list_checkpoints(folder)]


# The global Python and NumPy generators: no operator draws from them (it would show in the weights), nothing seeds
# them, and each process starts them from the OS's entropy, so two processes never hold the same states there.
UNSEEDED = frozenset({"/rng/python", "/rng/numpy"})


def assert_identical(a: Any, b: Any, where: str = "") -> None:
    """Bitwise equality of two checkpoint trees (tensors with torch.equal, everything else with ==), but for the
    UNSEEDED generators' states."""
    if where in UNSEEDED:
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_identical(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{index}]")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _networks(state: dict[str, Any]) -> dict[str, dict[str, torch.Tensor]]:
    """The module state_dicts in an operator state: the dicts whose values are all tensors, with a float one."""
    return {key: value for key, value in state.items() if isinstance(value, dict) and value
            and all(isinstance(v, torch.Tensor) for v in value.values())
            and any(v.is_floating_point() for v in value.values())}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.int16)


class OperatorBattery:
    """The checks every operator runs through; a subclass provides the `battery_case` fixture (class scope)."""

    @pytest.fixture(scope="class")
    @classmethod
    def battery_case(cls) -> BatteryCase:
        raise NotImplementedError("an operator's battery class provides battery_case")

    @pytest.fixture(scope="class")
    @classmethod
    def battery_root(cls, battery_case: BatteryCase, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """A folder per case (a parametrised battery_case, such as CycleGAN's modes, gets one each)."""
        return tmp_path_factory.mktemp("battery")

    @pytest.fixture(scope="class")
    @classmethod
    def uninterrupted(cls, battery_case: BatteryCase, battery_root: Path) -> Path:
        """The run folder of the case's command run once, in this process."""
        out = battery_case.fresh_out(battery_root, "uninterrupted")
        assert run_in_process(battery_case.argv(out)) == 0
        return out

    @pytest.fixture(scope="class")
    @classmethod
    def interrupted(cls, battery_case: BatteryCase, battery_root: Path) -> Iterator[Interrupted]:
        """The same command as a subprocess: killed in checkpoint write 2, stopped by SIGTERM in the rerun's first
        write, then run again to the end."""
        out = battery_case.fresh_out(battery_root, "interrupted")
        argv = battery_case.argv(out)
        killed = _held_run(argv, hold_at=2, sig=signal.SIGKILL, workdir=battery_root)
        folders = checkpoint_folders(out)
        temps = sorted(str(p.relative_to(out)) for p in RunFolder(out).model_dir.rglob(TEMP_GLOB))
        found = load_latest(folders[-1]) if folders else None
        newest = max((p for folder in folders for p in list_checkpoints(folder)), key=lambda p: p.stat().st_mtime)
        termed = _held_run(argv, hold_at=1, sig=signal.SIGTERM, workdir=battery_root)
        final = subprocess.run([sys.executable, "-m", "ganfactory", *argv], capture_output=True, text=True,
                               timeout=600, env=CLI_ENV)
        yield Interrupted(out=out, killed=killed, temp_files_after_kill=temps,
                          latest_after_kill=found[1] if found else None, newest_after_kill=newest, termed=termed,
                          final=final)

    # --- training ----------------------------------------------------------------------------------------------
    def test_a_few_steps_move_the_weights(self, battery_case: BatteryCase, uninterrupted: Path) -> None:
        for folder in checkpoint_folders(uninterrupted):
            first, last = list_checkpoints(folder)[-1], list_checkpoints(folder)[0]
            assert first != last, f"{folder}: one checkpoint only; the case needs at least two ticks"
            before, after = (load_checkpoint(p)["operator"] for p in (first, last))
            networks = {k: v for k, v in _networks(before).items() if k not in battery_case.frozen}
            assert networks, f"{folder}: no network found in the operator state ({sorted(before)})"
            for name, weights in networks.items():
                moved = [k for k, v in weights.items() if v.is_floating_point() and not torch.equal(v, after[name][k])]
                assert moved, f"{folder.name}/{name}: no weight moved between {first.name} and {last.name}"

    @pytest.mark.subprocess
    def test_sigkill_in_the_middle_of_a_checkpoint_loses_nothing(self, interrupted: Interrupted) -> None:
        assert interrupted.killed.returncode == -signal.SIGKILL, interrupted.killed.stderr[-3000:]
        assert interrupted.temp_files_after_kill, "the kill did not land inside a checkpoint write"
        # the pointer still names a whole checkpoint, and it is the newest complete one (nothing older is read)
        assert interrupted.latest_after_kill == interrupted.newest_after_kill
        assert not list(RunFolder(interrupted.out).model_dir.rglob(TEMP_GLOB)), "the rerun left the killed temp file"

    @pytest.mark.subprocess
    def test_sigterm_exits_75_with_one_line_saying_how_to_resume(self, interrupted: Interrupted) -> None:
        message = assert_one_line_error(interrupted.termed, code=75)
        assert "SIGTERM" in message and "run the same command to resume" in message

    @pytest.mark.subprocess
    def test_the_rerun_equals_an_uninterrupted_run(self, interrupted: Interrupted, uninterrupted: Path) -> None:
        assert interrupted.final.returncode == 0, interrupted.final.stderr[-3000:]
        folders = checkpoint_folders(uninterrupted)
        assert [f.relative_to(uninterrupted) for f in folders] == \
            [f.relative_to(interrupted.out) for f in checkpoint_folders(interrupted.out)]
        for folder in folders:
            whole = list_checkpoints(folder)[0]
            resumed = list_checkpoints(interrupted.out / folder.relative_to(uninterrupted))[0]
            assert whole.name == resumed.name
            assert_identical(load_checkpoint(whole), load_checkpoint(resumed))
        # the generated files (lists of them, such as DatasetGAN's candidates, name each run folder's own paths)
        whole_data, resumed_data = (RunFolder(run).data_dir for run in (uninterrupted, interrupted.out))
        images = {f.relative_to(whole_data): _sha256(f) for f in image_files(whole_data)}
        assert images and images == {f.relative_to(resumed_data): _sha256(f) for f in image_files(resumed_data)}

    # --- generation ------------------------------------------------------------------------------------------
    def test_the_manifest_carries_provenance(self, battery_case: BatteryCase, uninterrupted: Path) -> None:
        lines = read_manifest(RunFolder(uninterrupted).manifest_path)
        assert lines, "the case's run generated nothing"
        assert len({line["id"] for line in lines}) == len(lines)
        # (name, sha256) of every checkpoint: stages number their checkpoints each from 1, so a name may repeat
        checkpoints = {(p.name, _sha256(p)) for p in RunFolder(uninterrupted).model_dir.rglob("ckpt-*.pt")}
        for line in lines:
            assert line["operator"] == battery_case.operator and line["synthetic"] is True, line
            assert line["usage"] == "train" and line["annotation"], line
            assert Path(line["source"]).is_file(), line
            assert (line["checkpoint"], line["checkpoint_sha256"]) in checkpoints, line

    def test_export_predicts_what_the_checkpoint_predicts(self, battery_case: BatteryCase, uninterrupted: Path,
                                                          tmp_path: Path) -> None:
        spec = get_operator(battery_case.operator)
        if spec.exporter is None or spec.predict is None:
            pytest.skip(f"the {spec.name} operator has no exporter")
        onnx = tmp_path / "model.onnx"
        assert run_in_process(["export", str(uninterrupted), "--output", str(onnx)]) == 0
        for name, model in (("pt", uninterrupted), ("onnx", onnx)):
            assert run_in_process(battery_case.argv(tmp_path / name, "--predict", "--resume", str(model))) == 0
        pt, ox = (RunFolder(tmp_path / name).data_dir for name in ("pt", "onnx"))
        files = [p.relative_to(pt) for p in image_files(pt)]
        assert files and files == [p.relative_to(ox) for p in image_files(ox)]
        worst = max(int(np.abs(_pixels(pt / f) - _pixels(ox / f)).max()) for f in files)
        assert worst <= battery_case.parity_levels, f"ONNX differs by up to {worst} levels"
