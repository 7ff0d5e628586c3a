"""Fixtures of the projection tests: DatasetGAN's tiny StyleGAN run and its sampled folder (projection serves
DatasetGAN's add-real step), shared from tests/operators/datasetgan/conftest.py."""

from ...datasetgan.conftest import copy_of, sampled, script_masks, stylegan_run  # noqa: F401 (fixtures and helpers)
