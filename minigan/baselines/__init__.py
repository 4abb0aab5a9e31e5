"""The other two families of generative models, built on minigan's engine to be measured
against its GANs (chapter 16): the variational autoencoder (``vae``) and the denoising
diffusion model (``diffusion``, with its noise networks in ``unet``).

* ``vae``: ``VAE`` (the ELBO, the importance-weighted bound, samples), ``conv_vae28`` and
  ``toy_vae``; the closed forms of the linear-Gaussian model (probabilistic PCA) that the
  ELBO is checked against; dequantisation and bits per dimension.
* ``diffusion``: ``DDPM`` (the forward process in one draw, the simple loss, ancestral
  sampling, the variational bound), its schedules, and the exact score of a noised
  Gaussian mixture.
* ``unet``: ``SmallUNet`` (28x28 images) and ``ToyDenoiser`` (stacked MLPs for 2-D points).
"""
from minigan.baselines import diffusion, unet, vae
from minigan.baselines.diffusion import DDPM, mixture_score, scaled_linear_schedule
from minigan.baselines.unet import SmallUNet, ToyDenoiser
from minigan.baselines.vae import VAE, conv_vae28, toy_vae

__all__ = ["diffusion", "unet", "vae", "DDPM", "mixture_score", "scaled_linear_schedule",
           "SmallUNet", "ToyDenoiser", "VAE", "conv_vae28", "toy_vae"]
