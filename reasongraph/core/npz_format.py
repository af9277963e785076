"""reasongraph's file format for saved values: named arrays and a JSON header in one ``.npz``, never pickle.

A Trace and a fitted clusterer are each saved as an uncompressed ``np.savez`` archive whose ``header`` entry is
the UTF-8 bytes (a uint8 array) of a JSON object ``{"format": ..., "version": ..., <fields>}`` and whose other
entries are the value's arrays. :func:`save_npz` writes that layout and :func:`load_npz` reads it back with
``allow_pickle=False``. Whatever is wrong with a file (missing, empty, truncated, a bad CRC, a header that is not
JSON or belongs to another format, missing fields or arrays, a newer format version) becomes one
:class:`~reasongraph.core.errors.InputError` that names the file and the problem, so callers catch one exception.

Writes are not atomic here: callers that need crash safety wrap :func:`save_npz` (or a ``save`` method that uses
it) in :func:`reasongraph.core.storage.atomic_write` with ``suffix=".npz"``.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from reasongraph.core.checks import check_path
from reasongraph.core.errors import InputError

__all__ = ["Array", "damaged", "load_npz", "save_npz"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or the end record of an empty zip
_NPY_MAGIC = b"\x93NUMPY"
_KINDS = {"b": "bool", "i": "int", "u": "unsigned int", "f": "float", "c": "complex", "U": "str", "S": "bytes",
          "O": "object"}


class Array(NamedTuple):
    """What an array of a file must look like: its number of dimensions and numpy dtype kinds (e.g. ``"iu"``)."""

    ndim: int
    kinds: str


def save_npz(path: str | Path, *, format: str, version: int, header: Mapping[str, Any],
             arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` and the JSON ``{"format", "version", **header}`` to one uncompressed ``.npz``.

    Numpy scalars in ``header`` are written as plain numbers; anything else that JSON cannot hold is a TypeError
    (a bug in the caller, not bad input). The archive holds ``header`` first, then ``arrays`` in their order.
    """
    if "header" in arrays:
        raise ValueError("'header' is reserved for the JSON header; rename the array")
    content = {"format": format, "version": int(version), **header}
    blob = np.frombuffer(json.dumps(content, default=_plain).encode("utf-8"), dtype=np.uint8)
    path = Path(path)
    with open(path, "wb") as f:
        np.savez(f, header=blob, **{name: np.asarray(a) for name, a in arrays.items()})
    return path


def load_npz(path: str | Path, *, format: str, max_version: int, what: str,
             required_header: Iterable[str] = (), required_arrays: Mapping[str, Array] = {},
             optional_arrays: Mapping[str, Array] = {}) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`save_npz` as ``(header, arrays)``, checked; never unpickles.

    Parameters
    ----------
    format, max_version : the header's ``format`` must equal ``format`` and its ``version`` must be at most
        ``max_version`` (a newer file asks the user to upgrade reasongraph).
    what : the kind of file in words, for messages ("Trace", "clusterer").
    required_header : header fields that must be present (besides ``format`` and ``version``).
    required_arrays : arrays that must be present, with the dimensions and dtype kinds they must have.
    optional_arrays : the same for arrays that may be absent; a name ending in ``*`` matches every array whose
        name starts with the rest (``"hidden_*"``).

    Returns
    -------
    header : the JSON header as a dict (``format`` and ``version`` included).
    arrays : every array of the file except the header, by name.

    Raises
    ------
    InputError naming the file and what is wrong with it, whatever it is.
    """
    path = check_path("path", path)
    _check_file(path, what)
    try:
        with np.load(path, allow_pickle=False) as z:
            header = _read_header(z, path, format, max_version, what, required_header)
            arrays = {name: _read_array(z, name, path, what) for name in z.files if name != "header"}
    except InputError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
        # raised by np.load itself: the zip's index at the end of the file is missing or unreadable
        raise InputError(f"{path}: truncated or damaged {what} file: the zip index at its end is missing or "
                         f"unreadable ({e})") from None
    _check_arrays(arrays, path, what, required_arrays, optional_arrays)
    return header, arrays


def damaged(path: str | Path, what: str, reason: str) -> InputError:
    """The error for a file that has the right format but inconsistent content (callers' own checks)."""
    return InputError(f"{path}: damaged reasongraph {what} file: {reason}")


# ---------------------------------------------------------------------- reading, step by step
def _check_file(path: Path, what: str) -> None:
    """A readable, non-empty file that starts like a zip archive."""
    try:
        with open(path, "rb") as f:
            start = f.read(len(_NPY_MAGIC))
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what} file: {e.strerror or e}") from None
    if not start:
        raise InputError(f"{path}: empty file (0 bytes), not a reasongraph {what} file (an interrupted write?)")
    if start.startswith(_NPY_MAGIC):
        raise InputError(f"{path}: not a reasongraph {what} file: a single .npy array, not an .npz archive")
    if not start.startswith(_ZIP_MAGIC):
        raise InputError(f"{path}: not a reasongraph {what} file: not an .npz (zip) archive")


def _read_header(z: Any, path: Path, format: str, max_version: int, what: str,
                 required: Iterable[str]) -> dict:
    if "header" not in z.files:
        raise InputError(f"{path}: not a reasongraph {what} file: the .npz has no 'header' entry")
    raw = _read_array(z, "header", path, what)
    try:
        if raw.ndim != 1 or raw.dtype != np.uint8:
            raise ValueError(f"a {raw.dtype} array of shape {raw.shape}, not bytes")
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a reasongraph {what} file: its header is not JSON ({e})") from None
    found = header.get("format") if isinstance(header, dict) else None
    if found != format:
        other = f"a {found} file" if isinstance(found, str) and found.startswith("reasongraph.") else \
            f"header format {found!r}, expected {format!r}"
        raise InputError(f"{path}: not a reasongraph {what} file: {other}")
    version = header.get("version")
    if not (isinstance(version, int) and not isinstance(version, bool) and version >= 1):
        raise damaged(path, what, f"its header's version is {version!r}, not a positive integer")
    if version > max_version:
        raise InputError(f"{path}: {what} file format version {version} is newer than this reasongraph reads "
                         f"({max_version}); upgrade reasongraph")
    missing = [name for name in required if name not in header]
    if missing:
        raise damaged(path, what, f"its header lacks {', '.join(map(repr, missing))}")
    return header


def _read_array(z: Any, name: str, path: Path, what: str) -> np.ndarray:
    """One member, with a bad CRC, a short read or pickled content reported as what they are."""
    try:
        value = z[name]
    except zipfile.BadZipFile as e:
        if "CRC" in str(e):
            raise damaged(path, what, f"array {name!r} fails its CRC check (the file was altered or corrupted "
                                      f"on disk or in transfer)") from None
        raise damaged(path, what, f"array {name!r} cannot be read ({e})") from None
    except ValueError as e:
        if "pickle" in str(e):
            raise InputError(f"{path}: not a reasongraph {what} file: array {name!r} holds pickled Python "
                             f"objects, which reasongraph never loads") from None
        raise damaged(path, what, f"array {name!r} is truncated or corrupt ({e})") from None
    except (EOFError, OSError, NotImplementedError) as e:
        raise damaged(path, what, f"array {name!r} is truncated or corrupt ({e})") from None
    if not isinstance(value, np.ndarray):  # np.load returns a member without the .npy magic as raw bytes
        raise damaged(path, what, f"entry {name!r} is not a numpy array")
    return value


def _check_arrays(arrays: dict[str, np.ndarray], path: Path, what: str, required: Mapping[str, Array],
                  optional: Mapping[str, Array]) -> None:
    missing = [name for name in required if name not in arrays]
    if missing:
        raise damaged(path, what, f"it lacks the array(s) {', '.join(map(repr, missing))}")
    for name, a in arrays.items():
        spec = required.get(name) or _match(name, optional)
        if spec is not None and (a.ndim != spec.ndim or a.dtype.kind not in spec.kinds):
            kinds = " or ".join(_KINDS.get(k, k) for k in spec.kinds)
            raise damaged(path, what, f"array {name!r} must be {spec.ndim}-D {kinds}, got shape {a.shape} "
                                      f"{a.dtype}")


def _match(name: str, specs: Mapping[str, Array]) -> Array | None:
    for pattern, spec in specs.items():
        if name == pattern or pattern.endswith("*") and name.startswith(pattern[:-1]):
            return spec
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")
