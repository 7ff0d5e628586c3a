"""The run page shows the training's warnings (the collapse watch of issue 22, divergence) as escaped text."""

from __future__ import annotations

import json

from tests.console.conftest import run_id_of

from ganfactory.engine.stats import write_progress

ALERT = ("Classes produce the same image: one latent drawn in different classes gives images 0.02 as far apart as "
         "two latents of one class <script>alert(1)</script> (at 10.000 kimg).")


def test_the_run_page_shows_the_collapse_warning_escaped(client, runs_dir):
    rid = run_id_of(client, "alpha")
    assert "Training warnings" not in client.get(f"/runs/{rid}").text  # none raised: no panel
    write_progress(runs_dir / "alpha" / "logs", unit="kimg", done=10.0, total=30.0, sec_per_unit=5.0,
                   phase="training", health={"diversity/classes": 0.02}, alerts=[ALERT])
    text = client.get(f"/runs/{rid}").text
    assert "Training warnings" in text and "Classes produce the same image" in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_without_progress_the_warnings_come_from_the_stats_records(client, runs_dir):
    (runs_dir / "alpha" / "logs" / "progress.json").unlink()  # a run from before progress.json
    stats = runs_dir / "alpha" / "logs" / "stats.jsonl"
    with stats.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"tick": 5, "kimg": 0.5, "steps": 50, "alerts": ["Samples sit in a tight cluster."]})
                     + "\n")
    text = client.get(f"/runs/{run_id_of(client, 'alpha')}").text
    assert "Samples sit in a tight cluster." in text
