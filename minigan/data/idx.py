"""Reading the IDX format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by raw values:

    bytes 0-1  zero
    byte  2    the value type (0x08 = unsigned byte)
    byte  3    the number of dimensions d
    then d big-endian uint32 sizes, then prod(sizes) values in row-major order.

So images are magic 0x00000803 with sizes (count, rows, columns), and labels
0x00000801 with sizes (count,). Files may be gzip-compressed (``.gz``).
"""
import gzip
import pathlib

import numpy

_TYPES = {0x08: numpy.uint8, 0x09: numpy.int8, 0x0B: numpy.dtype(">i2"),
          0x0C: numpy.dtype(">i4"), 0x0D: numpy.dtype(">f4"), 0x0E: numpy.dtype(">f8")}


class IdxError(ValueError):
    """A file that is not a well-formed IDX file: wrong magic, or truncated."""


def read_bytes(path):
    """The file's bytes, decompressed if it is gzip (by content, not by name)."""
    raw = pathlib.Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError) as error:
            raise IdxError(f"{path}: the gzip stream is damaged or truncated ({error})") from None
    return raw


def parse_idx(data, name="<bytes>"):
    """The array stored in IDX bytes ``data``."""
    if len(data) < 4:
        raise IdxError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or type_code not in _TYPES or ndim == 0:
        raise IdxError(f"{name}: wrong magic number 0x{data[:4].hex()}; an IDX file starts "
                       f"00 00 <type> <ndim>, e.g. 0x00000803 for images, 0x00000801 for labels")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes, {ndim} dimensions need {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = numpy.dtype(_TYPES[type_code])
    expected = header + int(numpy.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "longer than its header says"
        raise IdxError(f"{name}: file is {problem}: shape {shape} needs {expected} bytes, "
                       f"found {len(data)}")
    return numpy.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file (raw or gzip) into a NumPy array."""
    return parse_idx(read_bytes(path), str(path))


def write_idx(path, array):
    """Write a uint8 array as an IDX file (gzip if ``path`` ends in .gz); used by tests."""
    array = numpy.ascontiguousarray(array, dtype=numpy.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = header + array.tobytes()
    path = pathlib.Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
