"""Data: image datasets read from IDX files, and generated toy distributions."""
