"""Each DatasetGAN step offers the options it reads and no others: `sample --help` lists exactly what sampling
reads, no step offers --precision (DatasetGAN computes in fp32 everywhere), and --num means one thing per step."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ganfactory.engine.precision import resolve_device
from ganfactory.operators.datasetgan.config import DatasetGANConfig, GenerateOptions, SampleOptions
from ganfactory.operators.datasetgan.sample import sample_for_annotation


def _flags(help_text: str) -> set[str]:
    """The options a --help lists, but --help and --config FILE (the same options from a file): every command's."""
    return set(re.findall(r"--([a-z][a-z-]*)", help_text)) - {"help", "config"}


class _Recording:
    """SampleOptions that note every field read."""

    def __init__(self, options: SampleOptions) -> None:
        self._options, self.read = options, set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._options, name)


def test_sample_help_lists_exactly_what_sampling_reads(in_process, stylegan_run, tmp_path) -> None:
    shown = in_process("datasetgan", "sample", "--help")
    assert shown.returncode == 0
    flags = {flag.replace("-", "_") for flag in _flags(shown.stdout)}
    options = _Recording(SampleOptions(num=2, seed=4, device="cpu"))
    sample_for_annotation(stylegan_run, tmp_path / "out", options, device=resolve_device(options.device))
    assert flags == set(SampleOptions.model_fields) == options.read  # device: read by the command, above
    assert not {"members", "epochs", "drop_uncertain", "shard", "precision"} & flags


@pytest.mark.parametrize("step", ["sample", "train", "generate"])
def test_no_step_offers_a_precision_it_would_ignore(in_process, step: str) -> None:
    shown = in_process("datasetgan", step, "--help")
    assert shown.returncode == 0 and "precision" not in _flags(shown.stdout)
    assert "--num" in shown.stdout


def test_generate_offers_only_generation_options_and_train_generates_with_the_same() -> None:
    assert set(GenerateOptions.model_fields) <= set(DatasetGANConfig.model_fields)
    assert not {"members", "epochs", "lr", "patience"} & set(GenerateOptions.model_fields)
    config = DatasetGANConfig(num=5, drop_uncertain=0.3, seed=2, members=3)
    assert config.pair_options() == GenerateOptions(num=5, drop_uncertain=0.3, seed=2)
    assert DatasetGANConfig().precision == "fp32"


def test_a_step_job_queued_with_the_former_all_in_one_options_still_loads(tmp_path) -> None:
    from ganfactory.operators.command import OperatorRequest
    from ganfactory.operators.datasetgan.spec import DATASETGAN

    stored = {"operator": "datasetgan", "inputs": [str(tmp_path / "run")], "out": str(tmp_path / "out"),
              "step": "sample", "config": DatasetGANConfig(num=3, truncation=0.5, members=4).to_json_dict()}
    request = OperatorRequest.from_json(stored, DATASETGAN)
    assert request.config == SampleOptions(num=3, truncation=0.5)
    assert "--members" not in request.argv() and request.argv()[:3] == ["sample", *stored["inputs"], stored["out"]]
