"""--max-minutes: training stops on its time budget, saves a checkpoint, generates from it; the same command
again trains on from there."""

from __future__ import annotations

from ganfactory.cli import main

from .conftest import TINY, TINY_FLAGS, manifest_lines, one_thread, train


def test_the_time_budget_ends_training_then_the_run_generates(two_classes, tmp_path):
    out = tmp_path / "run"
    first = train(two_classes, out, total_kimg=1000, max_minutes=0.0005)  # 30 ms: a step or two
    assert first.budget_reached and 0 < first.done < 1 and first.checkpoint.is_file()
    assert first.images_written == len(manifest_lines(out)) == 2 * TINY["generate_num"]
    again = train(two_classes, out, total_kimg=1000, max_minutes=0.0005)
    assert again.budget_reached and again.done > first.done  # resumed, trained on, generated anew
    assert {line["checkpoint"] for line in manifest_lines(out)} == {again.checkpoint.name}


def test_the_cli_says_the_budget_ended_training(two_classes, tmp_path, capsys):
    with one_thread():
        code = main(["stylegan", str(two_classes), str(tmp_path / "run"), *TINY_FLAGS, "--total-kimg", "1000",
                     "--max-minutes", "0.0005", "--generate-num", "1", "--precision", "fp32"])
    out = capsys.readouterr().out
    assert code == 0 and "Time budget reached: trained" in out and "run the same command again" in out
