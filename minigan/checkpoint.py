"""Checkpoints: a training run's whole state in one file that a crash cannot half-write.

    save_checkpoint("run/latest.ckpt", step=500, G=G.state_dict(), opt_g=opt_g.state_dict(),
                    rng=backend.get_rng_state(), spec={...})
    parts = load_checkpoint("run/latest.ckpt")       # {'step': 500, 'G': {...}, ...}

**The format** is a zip archive, readable without minigan (``unzip -l latest.ckpt``):

* ``checkpoint.json``: every part as JSON, with each array replaced by
  ``{"__array__": "G/0.weight.npy"}``, the name of the member that holds it;
* one ``.npy`` file per array (NumPy's own format: ``numpy.load`` reads each one).

That is the layout of NumPy's ``.npz`` plus one text file, so ``numpy.load(path)``
opens it too. There is no pickle: loading a pickle runs code chosen by whoever wrote
the file, while JSON and ``.npy`` (read with ``allow_pickle=False``) are only data.

**Atomic writes.** The archive is written to a temporary file in the same folder,
flushed and fsync-ed to the disk, and only then renamed over the old checkpoint with
``os.replace``, which is atomic: a run killed mid-write leaves the previous checkpoint
whole. Each zip member carries a CRC-32, so a damaged file is caught when it is read.
"""
import io
import json
import os
import pathlib
import zipfile

import numpy

FORMAT = "minigan-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable minigan checkpoint (truncated, corrupt, or not one)."""


def save_checkpoint(path, **parts):
    """Write ``parts`` (nested dicts/lists of NumPy arrays and JSON values) to ``path``, atomically.

    Returns the path. JSON turns dict keys into strings and tuples into lists, so an
    optimizer's state index 0 comes back as '0' and betas (0.5, 0.999) as [0.5, 0.999];
    ``Optimizer.load_state_dict`` accepts both.

    Raises:
        TypeError: naming the part (``'G/0.weight'``) that is neither JSON nor a NumPy
            array of plain values: a Tensor (save ``module.state_dict()`` or
            ``tensor.numpy()``), a set, an array of Python objects.
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save_checkpoint: the folder {path.parent} does not exist; "
                                f"create it first")
    if path.is_dir():
        raise IsADirectoryError(f"save_checkpoint: {path} is a folder; give a file name, "
                                f"e.g. {path / 'latest.ckpt'}")
    arrays = {}
    tree = _split_arrays(parts, "", arrays)
    document = json.dumps({"format": FORMAT, "version": VERSION, "parts": tree}, indent=1)
    temporary = path.with_name(f".{path.name}.tmp")   # same folder: os.replace cannot cross disks
    try:
        with open(temporary, "wb") as file:
            with zipfile.ZipFile(file, "w") as archive:
                # ZipInfo's fixed date (1980), as the arrays get: equal states, equal files
                archive.writestr(zipfile.ZipInfo("checkpoint.json"), document)
                for name, array in arrays.items():
                    # force_zip64 as numpy.savez does: a member may grow past 2 GiB
                    with archive.open(name, "w", force_zip64=True) as member:
                        numpy.lib.format.write_array(member, array, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())   # the bytes are on the disk before the rename
        os.replace(temporary, path)
    except BaseException:   # a failed or interrupted write leaves the old checkpoint as it was
        temporary.unlink(missing_ok=True)
        raise
    if os.name == "posix":   # make the rename itself durable, not only the file's bytes
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`; return its parts as saved.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: naming the file, when it is truncated, corrupt or not a checkpoint.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file; the Trainer writes "
                              f"FOLDER/latest.ckpt")
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: no checkpoint file at {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            document = json.loads(archive.read("checkpoint.json"))
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise CheckpointError(f"{path} is a zip archive but not a minigan checkpoint "
                                      f"(its checkpoint.json has no 'format': {FORMAT!r})")
            if document.get("version") != VERSION:
                raise CheckpointError(f"{path}: checkpoint version {document.get('version')!r}, "
                                      f"this minigan reads version {VERSION}")
            return _join_arrays(document["parts"], archive)
    except CheckpointError:   # raised above; it already names the file
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as error:
        raise CheckpointError(f"{path} is not a readable minigan checkpoint (truncated or "
                              f"corrupt?): {type(error).__name__}: {error}") from error


_JSON_SCALARS = (str, int, float, bool, type(None))


def _split_arrays(value, name, arrays):
    """``value`` with every array moved into ``arrays`` (member name -> array) and referenced.

    Anything that neither JSON nor ``.npy`` (without pickle) can hold is refused here,
    naming its place in the parts, before a byte is written.
    """
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, (str, int)):
                raise TypeError(f"save_checkpoint: the key {key!r} in {name.rstrip('/') or 'parts'}"
                                f" is a {type(key).__name__}; keys must be strings or ints")
        return {str(key): _split_arrays(item, f"{name}{key}/", arrays)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split_arrays(item, f"{name}{i}/", arrays) for i, item in enumerate(value)]
    if isinstance(value, numpy.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"save_checkpoint: {name.rstrip('/')!r} is an array of Python objects "
                            f"(dtype object), which .npy cannot hold without pickle")
        member = name.rstrip("/") + ".npy"
        arrays[member] = value
        return {"__array__": member}
    if isinstance(value, numpy.generic):   # a NumPy scalar: store the Python number
        return value.item()
    if not isinstance(value, _JSON_SCALARS):
        hint = ("; save module.state_dict() or tensor.numpy() instead"
                if type(value).__name__ in ("Tensor", "Parameter") else "")
        raise TypeError(f"save_checkpoint: {name.rstrip('/')!r} is a {type(value).__name__}, "
                        f"which a checkpoint cannot hold (JSON values and NumPy arrays "
                        f"only){hint}")
    return value


def _join_arrays(value, archive):
    """The inverse of :func:`_split_arrays`: read each referenced member back as an array."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            with archive.open(value["__array__"]) as member:
                # reading the member whole makes zipfile check its CRC-32
                return numpy.lib.format.read_array(io.BytesIO(member.read()), allow_pickle=False)
        return {key: _join_arrays(item, archive) for key, item in value.items()}
    if isinstance(value, list):
        return [_join_arrays(item, archive) for item in value]
    return value
