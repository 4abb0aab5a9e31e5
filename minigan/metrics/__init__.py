"""Measuring generative models: each metric in its own module."""
