"""`evaluate` is a long command too: a stop request (SIGTERM, Ctrl-C) ends its feature extraction after the chunk in
hand with RunInterrupted (exit 75), the features made so far are cached, and the same command goes on from there."""

import pytest

from conftest import write_digits
from ganfactory.data.discovery import discover_images
from ganfactory.engine.signals import RunInterrupted, StopRequest
from ganfactory.metrics.features import folder_features
from ganfactory.metrics.loaders import load_feature_network


def test_feature_extraction_stops_after_the_chunk_in_hand_and_the_rerun_reuses_it(tmp_path, tiny_torchscript):
    folder = write_digits(tmp_path / "real", per_class=50)  # 150 images: three chunks of 64
    classes = discover_images(folder).classes
    network = load_feature_network(tiny_torchscript, backend="torch", input_size=32, batch_size=16)
    stop = StopRequest()
    extract = network.extract_prepared
    chunks: list[int] = []

    def extract_then_stop(batch):  # the signal arrives while the first chunk is being computed
        chunks.append(len(batch))
        stop.set("SIGTERM")
        return extract(batch)

    network.extract_prepared = extract_then_stop  # type: ignore[method-assign]
    with pytest.raises(RunInterrupted, match=r"Stopped \(SIGTERM\) after the features of 64 of 150 new images"):
        folder_features(folder, classes, network=network, stop=stop)
    assert chunks == [64]  # the chunk in hand was finished, no later one was started
    network.extract_prepared = extract  # type: ignore[method-assign]
    again = folder_features(folder, classes, network=network)
    assert again.reused == 64 and len(again.files) == 150  # the rerun computes only the other 86
