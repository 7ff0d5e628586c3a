"""DatasetGAN (Zhang et al. 2021): image + segmentation-mask pairs from a handful of annotated StyleGAN samples."""
