"""`ganfactory project`: real images to StyleGAN latents (W or W+) by optimisation (Karras et al. 2020,
*Analyzing and Improving the Image Quality of StyleGAN*, appendix D projector)."""
