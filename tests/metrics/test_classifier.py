"""The CAS classifier learns a learnable task, scores per class, and refuses mismatched inputs."""

import pytest
import torch

from ganfactory.metrics.classifier import classification_accuracy_score, predict_classes, train_classifier


def bars(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 [count, 1, 16, 16] noisy images: class 0 a horizontal bar, class 1 a vertical one, at random places."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 60, (count, 1, 16, 16), generator=generator, dtype=torch.uint8)
    labels = torch.arange(count) % 2
    for index, position in enumerate(torch.randint(3, 13, (count,), generator=generator).tolist()):
        if labels[index] == 0:
            images[index, 0, position - 1:position + 1, 2:14] = 255
        else:
            images[index, 0, 2:14, position - 1:position + 1] = 255
    return images, labels


def test_learns_a_learnable_task_and_scores_each_class():
    train_images, train_labels = bars(128, seed=0)
    test_images, test_labels = bars(64, seed=1)
    score = classification_accuracy_score(train_images, train_labels, test_images, test_labels,
                                          class_names=["horizontal", "vertical"], epochs=4)
    assert score.count == 64
    assert score.accuracy > 0.9
    assert set(score.per_class) == {"horizontal", "vertical"}
    assert min(score.per_class.values()) > 0.8


def test_random_labels_give_chance_on_held_out_data():
    train_images, train_labels = bars(128, seed=0)
    test_images, test_labels = bars(200, seed=2)
    shuffled = train_labels[torch.randperm(128, generator=torch.Generator().manual_seed(3))]
    score = classification_accuracy_score(train_images, shuffled, test_images, test_labels,
                                          class_names=["horizontal", "vertical"], epochs=4)
    assert 0.3 < score.accuracy < 0.7


def test_training_is_deterministic_per_seed():
    images, labels = bars(32, seed=0)
    first = predict_classes(train_classifier(images, labels, num_classes=2, epochs=1, seed=5), images)
    second = predict_classes(train_classifier(images, labels, num_classes=2, epochs=1, seed=5), images)
    assert torch.equal(first, second)


def test_mismatched_labels_are_refused():
    images, labels = bars(8, seed=0)
    with pytest.raises(ValueError, match="as many labels"):
        train_classifier(images, labels[:4], num_classes=2)
