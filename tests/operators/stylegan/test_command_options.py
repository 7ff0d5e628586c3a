"""Issue 13, fault 9: each command offers only the options it uses; `generate` refuses training flags."""

from __future__ import annotations

from ganfactory.cli import main

TRAINING_ONLY = ("--resolution", "--cfg", "--lr", "--total-kimg", "--batch-size", "--gamma", "--aug",
                 "--keep-checkpoints", "--min-images", "--do-validation", "--resume", "--predict")


def test_generate_help_lists_only_generation_options(capsys):
    assert main(["generate", "--help"]) == 0
    text = capsys.readouterr().out
    assert all(option not in text for option in TRAINING_ONLY), text
    assert all(option in text for option in ("--generate-num", "--seed", "--truncation", "--precision"))


def test_generate_refuses_a_training_flag(trained, tmp_path, capsys):
    code = main(["generate", str(trained), str(tmp_path / "out"), "--resolution", "64"])
    assert code == 2 and "No such option '--resolution'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
