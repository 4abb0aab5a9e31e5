"""Where the image datasets come from, how minigan finds them, and how it checks them.

minigan never ships data. It looks for each file, in this order, in

1. the folder passed as ``root=``,
2. the folder named by the environment variable ``MINIGAN_DATA``,
3. the project's ``data/`` folder (where ``python -m minigan.data fetch`` puts files),
4. ``/usr/share/datasets/fashion-mnist``, where Debian's package
   ``dataset-fashion-mnist`` installs Fashion-MNIST,

either directly in the folder or in a sub-folder named after the dataset, gzipped
or not. Every file is verified before use: its SHA-256 must match the published
file (Debian's package), or its MD5 the digest the authors publish, or the
SHA-256 of its uncompressed IDX bytes (the same for every faithful copy, gzipped
or not).
"""
import hashlib
import os
import pathlib
import shutil
import tempfile
import urllib.request

from minigan.data.idx import read_bytes

PROJECT_DATA = pathlib.Path(__file__).resolve().parents[2] / "data"
DEBIAN_FOLDERS = {"fashion-mnist": pathlib.Path("/usr/share/datasets/fashion-mnist")}

# name -> file -> accepted digests. "idx-sha256" is the digest of the uncompressed
# bytes; "sha256" and "md5" are digests of the .gz file as distributed.
CATALOGUE = {
    "fashion-mnist": {
        "urls": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "licence": "MIT (Zalando SE)",
        "files": {
            "train-images-idx3-ubyte": {
                "md5": ["8d4fb7e6c68d591d4c3dfef9ec88bf0d"],
                "sha256": ["b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"],
                "idx-sha256": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
            "train-labels-idx1-ubyte": {
                "md5": ["25c81989df183df01b3e8a0aad5dffbe"],
                "sha256": ["0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"],
                "idx-sha256": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
            "t10k-images-idx3-ubyte": {
                "md5": ["bef4ecab320f06d8554ea6380940ec79"],
                "sha256": ["cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"],
                "idx-sha256": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
            "t10k-labels-idx1-ubyte": {
                "md5": ["bb300cfdad3c16e7a12a480ee83cd310"],
                "sha256": ["8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"],
                "idx-sha256": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
        },
    },
    "mnist": {
        "urls": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "http://yann.lecun.com/exdb/mnist/"],
        "licence": "CC BY-SA 3.0 (Yann LeCun, Corinna Cortes, Christopher J.C. Burges)",
        "files": {
            "train-images-idx3-ubyte": {"md5": ["f68b3c2dcbeaaa9fbdd348bbdeb94873"]},
            "train-labels-idx1-ubyte": {"md5": ["d53e105ee54ea40749a09fcbcd1e9432"]},
            "t10k-images-idx3-ubyte": {
                "md5": ["9fb629c4189551a2d022fa330f9573f3"],
                "sha256": ["8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"],
                "idx-sha256": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
            "t10k-labels-idx1-ubyte": {
                "md5": ["ec29112dd5afa0611ce80d1b7f02629c"],
                "sha256": ["f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"],
                "idx-sha256": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
        },
    },
}


class DataNotFoundError(FileNotFoundError):
    """A dataset file is in none of the places minigan looks."""


class ChecksumError(ValueError):
    """A dataset file does not match any published digest."""


def search_folders(name, root=None):
    """The folders searched for dataset ``name``, in order."""
    folders = []
    if root is not None:
        folders.append(pathlib.Path(root))
    if os.environ.get("MINIGAN_DATA"):
        folders.append(pathlib.Path(os.environ["MINIGAN_DATA"]))
    folders.append(PROJECT_DATA)
    if name in DEBIAN_FOLDERS:
        folders.append(DEBIAN_FOLDERS[name])
    return folders


def _catalogue_entry(name, stem):
    if name not in CATALOGUE:
        raise ValueError(f"unknown dataset {name!r}; minigan knows {sorted(CATALOGUE)}")
    files = CATALOGUE[name]["files"]
    if stem not in files:
        raise ValueError(f"{name} has no file {stem!r}; its files are {sorted(files)}")
    return files[stem]


def find_file(name, stem, root=None):
    """The path of ``stem`` (e.g. 'train-images-idx3-ubyte') of dataset ``name``."""
    _catalogue_entry(name, stem)
    looked = []
    for folder in search_folders(name, root):
        for place in (folder / name, folder):
            for filename in (stem + ".gz", stem):
                looked.append(place / filename)
                if (place / filename).is_file():
                    return place / filename
    folders = "\n  ".join(str(f) for f in search_folders(name, root))
    raise DataNotFoundError(
        f"{name}: {stem} was not found. minigan looked in (each folder and its '{name}/' "
        f"sub-folder, gzipped or not):\n  {folders}\n"
        f"Provide it in one of three ways:\n"
        f"  1. point MINIGAN_DATA (or root=) at a folder holding {name}/{stem}.gz;\n"
        f"  2. run `python -m minigan.data fetch {name}` to download it into {PROJECT_DATA};\n"
        f"  3. " + ("`apt-get install dataset-fashion-mnist` (Debian) installs it under "
                    "/usr/share/datasets/fashion-mnist." if name == "fashion-mnist" else
                    f"copy the files from {CATALOGUE[name]['urls'][0]} into {PROJECT_DATA / name}."))


def verify(name, stem, path):
    """Check ``path`` against the published digests of ``stem``; return its IDX bytes."""
    digests = _catalogue_entry(name, stem)
    raw = pathlib.Path(path).read_bytes()
    if hashlib.sha256(raw).hexdigest() in digests.get("sha256", []) or \
            hashlib.md5(raw).hexdigest() in digests.get("md5", []):
        return read_bytes(path)
    data = read_bytes(path)
    if hashlib.sha256(data).hexdigest() == digests.get("idx-sha256"):
        return data
    raise ChecksumError(
        f"{path} does not match the published {name} file {stem}: its digests "
        f"(sha256 {hashlib.sha256(raw).hexdigest()[:16]}..., uncompressed "
        f"{hashlib.sha256(data).hexdigest()[:16]}...) match none of the known ones. It is "
        f"corrupt or another file; delete it and fetch it again "
        f"(`python -m minigan.data fetch {name}`).")


def _download(url, folder, opener):
    """Download ``url`` into a temporary file in ``folder``; return its path."""
    handle, part = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, opener(url) as response:
            shutil.copyfileobj(response, out)
    except BaseException:
        os.unlink(part)
        raise
    return part


def fetch(name, folder=None, opener=urllib.request.urlopen):
    """Download every file of ``name`` that is missing into ``folder`` (default data/<name>/).

    Each download is verified before it is moved into place, so a broken transfer
    never leaves a corrupt file behind. Returns the paths written.
    """
    if name not in CATALOGUE:
        raise ValueError(f"unknown dataset {name!r}; minigan knows {sorted(CATALOGUE)}")
    folder = pathlib.Path(folder) if folder is not None else PROJECT_DATA / name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in CATALOGUE[name]["files"]:
        target = folder / (stem + ".gz")
        if target.is_file():
            verify(name, stem, target)
            continue
        errors = []
        for base in CATALOGUE[name]["urls"]:
            url = base + stem + ".gz"
            try:
                part = _download(url, folder, opener)
            except Exception as error:   # no network, 404, ...
                errors.append(f"{url}: {error}")
                continue
            try:
                verify(name, stem, part)
            except Exception as error:
                os.unlink(part)
                errors.append(f"{url}: {error}")
                continue
            os.replace(part, target)
            written.append(target)
            break
        else:
            raise DataNotFoundError(f"{name}: could not fetch {stem}.gz:\n  " + "\n  ".join(errors))
    return written
