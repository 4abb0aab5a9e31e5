"""Data: image datasets read from IDX files, and generated toy distributions."""
from minigan.data.datasets import CLASSES, FASHION_CLASSES, Batches, load
from minigan.data.idx import IdxError, read_idx
from minigan.data.sources import ChecksumError, DataNotFoundError, fetch, find_file
