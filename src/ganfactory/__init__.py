"""ganfactory: grow small image datasets with GANs."""

__version__ = "0.1.0"
