import json

import pytest
from pydantic import field_validator

from ganfactory.config import OperatorConfig, build_config, check_power_of_two
from ganfactory.errors import ConfigError


class ToyConfig(OperatorConfig):
    resolution: int = 256
    batch_size: int = 8
    total_kimg: float = 300

    @field_validator("resolution")
    @classmethod
    def _pow2(cls, value: int) -> int:
        return check_power_of_two(value)


def test_defaults_file_and_flags_layer_in_order(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("total-kimg: 12\nbatch_size: 4\n")
    config = build_config(ToyConfig, config_file=path, overrides={"batch_size": 2, "resolution": None})
    assert (config.resolution, config.batch_size, config.total_kimg) == (256, 2, 12)


def test_json_file_and_kebab_or_snake_keys(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"total_kimg": 5, "resolution": 64}))
    assert build_config(ToyConfig, config_file=path).total_kimg == 5


@pytest.mark.parametrize("overrides, words", [
    ({"resolution": 300}, "power of two"),
    ({"batch_size": "x"}, "batch_size"),
    ({"colour": 1}, "Unknown parameter 'colour'"),
])
def test_invalid_values_name_the_parameter(overrides, words):
    with pytest.raises(ConfigError) as info:
        build_config(ToyConfig, overrides=overrides)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_key_in_file_and_bad_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("resolution: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        build_config(ToyConfig, config_file=bad)
    with pytest.raises(ConfigError, match="does not exist"):
        build_config(ToyConfig, config_file=tmp_path / "missing.yaml")
