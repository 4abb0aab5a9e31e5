"""Shared test setup: the device the suite runs on, and hypothesis settings.

The whole suite runs unchanged on CuPy with ``MINIGAN_DEVICE=cuda``. Without a usable
CUDA device such a run skips every test with the reason, instead of failing.

``MINIGAN_DEVICE=strict`` runs it on tests/strict_array.py, an array module that fails
wherever CuPy would (implicit copies to NumPy, mixing NumPy arrays in, ``float`` or ``if``
on an array) and counts the explicit copies to the host: CuPy's discipline without a GPU.
Programs the tests start in a subprocess run on the CPU: the strict module is not part
of minigan, so only this test session knows it.
"""
import os
import pathlib

import hypothesis
import numpy
import pytest

_REQUESTED = os.environ.get("MINIGAN_DEVICE", "cpu").strip().lower() or "cpu"
_CUDA_PROBLEM = None
if _REQUESTED == "cuda":
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() == 0:
            _CUDA_PROBLEM = "CuPy is installed but no CUDA device is visible"
    except Exception as error:   # ImportError, or CuPy's runtime error without a driver
        _CUDA_PROBLEM = f"CUDA is not usable here ({type(error).__name__}: {error})"
    if _CUDA_PROBLEM:
        os.environ["MINIGAN_DEVICE"] = "cpu"   # so importing minigan does not fail
if _REQUESTED == "strict":
    os.environ["MINIGAN_DEVICE"] = "cpu"   # minigan itself knows no 'strict' device

import minigan  # noqa: E402  (after the device check above)

if _REQUESTED == "strict":
    from tests import strict_array
    minigan.backend.register_device("strict", strict_array)
    minigan.backend.set_device("strict")

# Derandomized: the same examples on every run, so CI never flakes on a lucky draw.
hypothesis.settings.register_profile("default", deadline=None, derandomize=True, max_examples=40,
                                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.register_profile("thorough", deadline=None, max_examples=500)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    parser.addoption(
        "--solutions", choices=["reference", "mine"], default="reference",
        help="whose exercise solutions the tests in tests/exercises check: minigan's own "
             "(reference, what CI runs) or yours in chapters/*/exercises.py (mine); with "
             "'mine' only the exercises run, so `-m ch05` checks them in seconds")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--solutions") == "mine":
        # Your answers are checked by tests/exercises alone: the chapter's training runs and
        # the library's own tests say nothing about them, and take minutes.
        exercises = pathlib.Path(__file__).parent / "exercises"
        others = [item for item in items if exercises not in pathlib.Path(item.fspath).parents]
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = [item for item in items if item not in others]
    if _CUDA_PROBLEM:
        skip = pytest.mark.skip(reason=f"MINIGAN_DEVICE=cuda was requested but {_CUDA_PROBLEM}")
        for item in items:
            item.add_marker(skip)


def pytest_report_header(config):
    return f"minigan device: {minigan.get_device()}" + (f" (skipping: {_CUDA_PROBLEM})"
                                                        if _CUDA_PROBLEM else "")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state, so failures reproduce."""
    minigan.manual_seed(0)
    yield


@pytest.fixture
def xp():
    """The array module of the device the suite runs on (numpy or cupy)."""
    return minigan.backend.get_array_module()


@pytest.fixture
def same_bits_on_threads(monkeypatch):
    """``same_bits_on_threads(compute, names, what)``: run ``compute()`` with
    ``backend.in_parts`` on one thread, then split over three threads (even the smallest
    work: the split threshold set to one element), and check that every array it returns
    is the same, bit for bit; a difference is reported by ``names`` and ``what``."""
    def check(compute, names, what):
        monkeypatch.setitem(minigan.backend._host, "threads", 1)
        one = compute()
        monkeypatch.setattr(minigan.backend, "SPLIT_MIN_ELEMENTS", 1)
        monkeypatch.setitem(minigan.backend._host, "threads", 3)
        three = compute()
        assert len(one) == len(three) == len(names)
        for name, a, b in zip(names, one, three):
            assert numpy.array_equal(a, b), f"{what}'s {name} differs between 1 and 3 threads"
    return check


def data_folder_named():
    """Whether MINIGAN_DATA names a folder that exists (CI names ../shared/data)."""
    folder = os.environ.get("MINIGAN_DATA")
    return bool(folder) and pathlib.Path(folder).is_dir()


def _require_fashion_mnist():
    """Skip a real-data test where the data is not found, saying why, unless MINIGAN_DATA
    names an existing folder: then a missing or corrupt file there fails the test (that
    is how CI, which names ../shared/data and checks it first, cannot pass by skipping)."""
    from minigan.data import DataNotFoundError, find_file
    try:
        find_file("fashion-mnist", "train-images-idx3-ubyte")
    except DataNotFoundError:
        if data_folder_named():
            raise
        named = os.environ.get("MINIGAN_DATA")
        why = f"MINIGAN_DATA={named} is no folder" if named else "MINIGAN_DATA is not set"
        pytest.skip(f"Fashion-MNIST not found ({why}; see data/README.md)")


@pytest.fixture
def fashion_mnist():
    """Fashion-MNIST must be at hand (see ``_require_fashion_mnist``)."""
    _require_fashion_mnist()


@pytest.fixture(scope="session")
def feature_network():
    """minigan's feature network for Fashion-MNIST, from the machine's cache.

    Trained by its published config the first time (a few minutes on two cores) into the
    cache every chapter uses (``minigan.metrics.features.default_cache_root()``: set
    ``MINIGAN_CACHE`` to move it), checked against its checksum on every load, and reused
    by every later test run and chapter. Skips where Fashion-MNIST is absent, as
    ``fashion_mnist`` does.
    """
    from minigan.metrics import features
    _require_fashion_mnist()
    cache = features.default_cache_root()
    model, accuracy = features.load_feature_classifier("fashion-mnist", progress=False,
                                                       cache_root=cache)
    return model, accuracy, cache
