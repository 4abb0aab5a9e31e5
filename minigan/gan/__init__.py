"""GAN-specific pieces: losses, penalties and the theory they are checked against."""
