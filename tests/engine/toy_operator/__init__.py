"""A toy operator written only against ganfactory's public contract (docs/adding-an-operator.md).

It learns the mean colour of a folder of images with one linear layer, in one stage or in two named
stages (stage 2 starts from stage 1's weights), and writes one generated image per run."""
