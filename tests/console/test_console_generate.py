"""Generate on demand from a real (tiny) StyleGAN run: a seed, truncation psi and class give an image now, the same
request gives the same image, classes and seeds change it, psi 0 gives the class's average image for every seed,
a latent walk is a GIF of seeds x frames, bad values are one sentence, and the browser shows the image."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.console.conftest import TOKEN, run_id_of
from tests.operators.stylegan.conftest import CLASSES, PER_CLASS, train, write_images


@pytest.fixture(scope="module")
def gan_runs(tmp_path_factory) -> Path:
    """runs/pets: a finished conditional StyleGAN run (16 px, 25 steps, two classes)."""
    data = tmp_path_factory.mktemp("data") / "pets"
    for name in CLASSES:
        write_images(data / name, name, PER_CLASS)
    runs = tmp_path_factory.mktemp("runs")
    train(data, runs / "pets", generate_num=2)
    return runs


@pytest.fixture
def settings(tmp_path: Path, gan_runs: Path):
    from ganfactory.console.settings import ConsoleSettings

    return ConsoleSettings(home=tmp_path / "home", run_roots=(gan_runs,), token=TOKEN, poll_ms=300, page_size=4)


def _pixels(response) -> np.ndarray:
    assert response.status_code == 200 and response.headers["content-type"] == "image/png", response.text
    with Image.open(io.BytesIO(response.content)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_an_image_for_a_seed_class_and_psi(client):
    rid = run_id_of(client, "pets")
    url = f"/runs/{rid}/generate.png"
    first = _pixels(client.get(url, params={"seed": 3, "class": "dogs"}))
    assert first.shape == (16, 16, 3)
    assert np.array_equal(first, _pixels(client.get(url, params={"seed": 3, "class": "dogs"})))  # deterministic
    assert not np.array_equal(first, _pixels(client.get(url, params={"seed": 4, "class": "dogs"})))
    assert not np.array_equal(first, _pixels(client.get(url, params={"seed": 3, "class": "cats"})))
    # psi 0: every seed maps to the class's average w, so the seed no longer matters
    average = [_pixels(client.get(url, params={"seed": seed, "class": "cats", "truncation": 0})) for seed in (1, 2)]
    assert np.array_equal(*average)


def test_a_latent_walk_is_a_gif_of_seeds_times_frames(client):
    rid = run_id_of(client, "pets")
    response = client.get(f"/runs/{rid}/walk.gif", params={"seeds": "1,5,9", "frames": 4, "class": "cats"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    with Image.open(io.BytesIO(response.content)) as gif:
        assert gif.n_frames == 12 and gif.size == (16, 16)


@pytest.mark.parametrize("params, words", [
    ({"seed": "-1"}, "from 0 to"), ({"seed": "x"}, "must be numbers"), ({"seed": "1", "truncation": "9"}, "between"),
    ({"seed": "1", "class": "<b>birds</b>"}, "Unknown class '<b>birds</b>'; this model knows cats, dogs."),
])
def test_bad_values_are_one_sentence(client, params, words):
    rid = run_id_of(client, "pets")
    response = client.get(f"/runs/{rid}/generate.png", params=params)
    assert response.status_code == 422 and words in response.text and len(response.text.splitlines()) == 1
    page = client.get(f"/runs/{rid}/generate", params=params)
    assert page.status_code == 200 and "<b>birds" not in page.text  # the page shows the same sentence, escaped
    assert 'role="alert"' in page.text and 'id="generated"' not in page.text


def test_a_run_without_a_stylegan_checkpoint_says_so(client, gan_runs, tmp_path):
    (gan_runs / "empty" / "model").mkdir(parents=True)
    (gan_runs / "empty" / "config.json").write_text('{"operator": "stylegan"}', encoding="utf-8")
    client.app.state.console._runs = None  # find the new folder now
    response = client.get(f"/runs/{run_id_of(client, 'empty')}/generate")
    assert response.status_code == 422 and "No checkpoint found" in response.text
    run_page = client.get(f"/runs/{run_id_of(client, 'pets')}").text
    assert "Generate on demand" in run_page


def test_generate_in_the_browser(live_server, page):
    base, app = live_server
    rid = next(r.id for r in app.state.console.runs() if r.root.name == "pets")
    page.goto(f"{base}/runs/{rid}")
    page.click("text=Generate on demand")
    page.fill('#generate-form input[name="seed"]', "7")
    page.select_option('#generate-form select[name="class"]', "dogs")
    page.click("#generate-button")
    image = page.locator("#generated")
    image.wait_for()
    page.wait_for_load_state("load")
    assert image.evaluate("img => img.naturalWidth") == 16
    assert "seed 7 · class dogs" in page.inner_text("figcaption")
