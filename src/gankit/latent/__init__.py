"""Latent-space tools: the shared batched latent search, projection of real images into a
generator (GAN inversion) and inpainting by latent search."""
