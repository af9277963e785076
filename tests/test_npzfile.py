"""Saved Traces and clusterers: the shared .npz format, files written before it, and every way a file can be bad."""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from reasongraph.graph.cluster.estimator import StepClusterer, load_clusterer
from reasongraph.core.errors import InputError
from reasongraph.core.npz_format import Array, load_npz, save_npz
from reasongraph.trace.steps import Step
from reasongraph.trace.trace import Trace

FORMAT_1 = Path(__file__).parent / "data" / "npz_v1"  # written by reasongraph 26ce37f, before the .npz format module


def fixture_steps() -> np.ndarray:
    """The step vectors the format-1 clusterer fixtures were fitted on."""
    X, _ = make_blobs(60, n_features=8, centers=3, cluster_std=0.5, center_box=(-20, 20), random_state=0)
    return X.astype(np.float32)


def fixture_trace() -> Trace:
    """The Trace saved as tests/data/npz_v1/trace.npz."""
    rng = np.random.default_rng(0)
    tokens = ["Step", " one", ".\n", "Step", " two", "."]
    text = "".join(tokens)
    ends = np.cumsum([len(t) for t in tokens])
    offsets = np.column_stack([ends - [len(t) for t in tokens], ends]).astype(np.int64)
    steps = [Step(0, 3, 0, int(ends[2]), text[:ends[2]]), Step(3, 6, int(ends[2]), int(ends[5]), text[ends[2]:])]
    return Trace(text=text, prompt="Count.", input_ids=np.arange(8, dtype=np.int64) + 100, prompt_len=2,
                 tokens=tokens, offsets=offsets, entropy=np.linspace(0.5, 1.0, 6, dtype=np.float32),
                 logprob=-np.linspace(0.1, 0.6, 6, dtype=np.float32),
                 hidden={0: rng.normal(size=(6, 8)).astype(np.float32), 2: rng.normal(size=(6, 8)).astype(np.float32)},
                 steps=steps, model_name="fixture", layers=(0, 2), segment="newline", temperature=1.0,
                 meta={"id": "fixture"})


def members(path: Path) -> tuple[dict, dict[str, np.ndarray], list[str]]:
    """(header, arrays, member names in archive order) of an .npz, read with plain numpy and zipfile."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    with zipfile.ZipFile(path) as zf:
        order = [name.removesuffix(".npy") for name in zf.namelist()]
    return json.loads(arrays.pop("header").tobytes()), arrays, order


def assert_same_trace(a: Trace, b: Trace) -> None:
    for name in ("text", "prompt", "prompt_len", "tokens", "steps", "model_name", "layers", "segment",
                 "temperature", "meta"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("input_ids", "offsets", "entropy", "logprob"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype
    assert a.hidden.keys() == b.hidden.keys()
    for k in a.hidden:
        np.testing.assert_array_equal(a.hidden[k], b.hidden[k])


# ---------------------------------------------------------------------- the format itself
def test_save_npz_layout_and_round_trip(tmp_path):
    path = save_npz(tmp_path / "x.npz", format="reasongraph.Test", version=3,
                    header={"n": np.int64(7), "name": "é"}, arrays={"a": np.arange(4), "b": np.eye(2)})
    header, arrays, order = members(path)
    assert order == ["header", "a", "b"]
    assert header == {"format": "reasongraph.Test", "version": 3, "n": 7, "name": "é"}  # numpy scalar -> 7
    assert list(header) == ["format", "version", "n", "name"]
    got_header, got = load_npz(path, format="reasongraph.Test", max_version=3, what="test",
                               required_header=("n",), required_arrays={"a": Array(1, "i")},
                               optional_arrays={"b*": Array(2, "f")})
    assert got_header == header
    np.testing.assert_array_equal(got["a"], np.arange(4))
    np.testing.assert_array_equal(got["b"], np.eye(2))
    with pytest.raises(ValueError, match="reserved"):
        save_npz(tmp_path / "y.npz", format="f", version=1, header={}, arrays={"header": np.zeros(1)})


def test_load_npz_checks_dimensions_and_dtype_kinds(tmp_path):
    path = save_npz(tmp_path / "x.npz", format="f", version=1, header={},
                    arrays={"ids": np.arange(6.0).reshape(2, 3), "h_1": np.zeros(3, dtype=np.float32)})
    with pytest.raises(InputError, match=r"'ids' must be 1-D int, got shape \(2, 3\) float64"):
        load_npz(path, format="f", max_version=1, what="test", required_arrays={"ids": Array(1, "i")})
    with pytest.raises(InputError, match=r"'h_1' must be 2-D float, got shape \(3,\) float32"):
        load_npz(path, format="f", max_version=1, what="test", optional_arrays={"h_*": Array(2, "f")})


# ---------------------------------------------------------------------- files written before the .npz format module
def test_format_1_trace_file_still_loads():
    assert_same_trace(Trace.load(FORMAT_1 / "trace.npz"), fixture_trace())


@pytest.mark.parametrize("name, params", [("clusterer_kmeans_pca.npz", dict(k=3, reduce="pca:4")),
                                          ("clusterer_hdbscan.npz", dict(method="hdbscan", noise="own"))])
def test_format_1_clusterer_files_still_load(name, params):
    X = fixture_steps()
    new = X + np.random.default_rng(1).normal(0, 3.0, X.shape).astype(np.float32)
    loaded, refit = load_clusterer(FORMAT_1 / name), StepClusterer(**params).fit(X)
    assert loaded.get_params() == refit.get_params()
    # the inertia of a refit moves in the last float32 bits with the scikit-learn release (1e-7 relative)
    described, redescribed = loaded.describe(), refit.describe()
    assert described.pop("inertia", None) == pytest.approx(redescribed.pop("inertia", None), rel=1e-5)
    assert described == redescribed
    np.testing.assert_allclose(loaded.cluster_centers_, refit.cluster_centers_, rtol=1e-5, atol=1e-5)
    for data in (X, new):
        np.testing.assert_array_equal(loaded.predict(data), refit.predict(data))


@pytest.mark.parametrize("name", ["trace.npz", "clusterer_kmeans_pca.npz", "clusterer_hdbscan.npz"])
def test_files_written_now_have_the_format_1_layout(tmp_path, name):
    """Same members in the same order, same dtypes and values, same header (a file now equals one then)."""
    if name == "trace.npz":
        path = fixture_trace().save(tmp_path / name)
    else:
        path = load_clusterer(FORMAT_1 / name).save(tmp_path / name)
    header, arrays, order = members(path)
    old_header, old_arrays, old_order = members(FORMAT_1 / name)
    assert order == old_order and header == old_header and list(header) == list(old_header)
    for key, a in arrays.items():
        assert a.dtype == old_arrays[key].dtype
        np.testing.assert_array_equal(a, old_arrays[key])


# ---------------------------------------------------------------------- bad files
def good_file(kind: str, tmp_path: Path) -> Path:
    if kind == "Trace":
        return fixture_trace().save(tmp_path / "t.npz")
    return StepClusterer(method="hdbscan").fit(fixture_steps()).save(tmp_path / "c.npz")


LOADERS = {"Trace": Trace.load, "clusterer": load_clusterer}
OTHER = {"Trace": "clusterer", "clusterer": "Trace"}
MEMBER = {"Trace": "hidden_0", "clusterer": "centers"}  # an array of each kind of file
REQUIRED_FIELD = {"Trace": "tokens", "clusterer": "params"}


def rewrite(path: Path, header=None, drop=(), replace=None) -> None:
    """Write ``path`` again with plain numpy: ``header(dict)`` edits the header, arrays dropped or replaced."""
    h, arrays, _ = members(path)
    if header is not None:
        header(h)
    arrays = {k: v for k, v in arrays.items() if k not in drop} | (replace or {})
    blob = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, header=blob, **arrays)


def flip_byte_in(path: Path, member: str) -> None:
    """Flip one byte in the middle of a member's array data (past its .npy header): only its CRC notices."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member + ".npy")
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    data = info.header_offset + 30 + name_len + extra_len
    npy_header_end = data + 10 + struct.unpack("<H", raw[data + 8:data + 10])[0]  # .npy format 1.0
    raw[npy_header_end + (data + info.file_size - npy_header_end) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def corrupt(case: str, kind: str, path: Path) -> str:
    """Damage ``path`` as ``case`` says; return what the error message must say."""
    what = kind
    if case == "missing":
        path.unlink()
        return f"no such {what} file"
    if case == "zero_bytes":
        path.write_bytes(b"")
        return "empty file (0 bytes)"
    if case == "truncated_at_half":
        path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
        return f"truncated or damaged {what} file: the zip index at its end is missing or unreadable"
    if case == "flipped_byte":
        flip_byte_in(path, MEMBER[kind])
        return f"array '{MEMBER[kind]}' fails its CRC check"
    if case == "flipped_header_byte":
        flip_byte_in(path, "header")
        return "array 'header' fails its CRC check"
    if case == "text_file":
        path.write_text("hello")
        return f"not a reasongraph {what} file: not an .npz (zip) archive"
    if case == "npy_file":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
        return "a single .npy array, not an .npz archive"
    if case == "no_header":
        with open(path, "wb") as f:
            np.savez(f, centers=np.zeros((2, 2)))
        return f"not a reasongraph {what} file: the .npz has no 'header' entry"
    if case == "header_not_json":
        _, arrays, _ = members(path)
        with open(path, "wb") as f:
            np.savez(f, header=np.frombuffer(b"{not json", dtype=np.uint8), **arrays)
        return "its header is not JSON"
    if case == "other_format":
        good_file(OTHER[kind], path.parent).replace(path)
        return f"not a reasongraph {what} file: a reasongraph.{'Trace' if kind == 'clusterer' else 'StepClusterer'}"
    if case == "header_missing_field":
        rewrite(path, header=lambda h: h.pop(REQUIRED_FIELD[kind]))
        return f"its header lacks '{REQUIRED_FIELD[kind]}'"
    if case == "newer_version":
        rewrite(path, header=lambda h: h.update(version=4))
        newest = 3 if what == "Trace" else 1
        return f"{what} file format version 4 is newer than this reasongraph reads ({newest}); upgrade reasongraph"
    if case == "missing_array":
        name = {"Trace": "entropy", "clusterer": "labels"}[kind]
        rewrite(path, drop=(name,))
        return f"lacks the array(s) '{name}'"
    if case == "wrong_dtype":
        name = {"Trace": "offsets", "clusterer": "labels"}[kind]
        rewrite(path, replace={name: members(path)[1][name].astype(np.float64)})
        return f"array '{name}' must be"
    if case == "wrong_shape":
        rewrite(path, replace={MEMBER[kind]: members(path)[1][MEMBER[kind]][:, 0]})
        return f"array '{MEMBER[kind]}' must be 2-D float"
    if case == "pickled_array":
        rewrite(path, replace={MEMBER[kind]: np.array([{"a": 1}], dtype=object)})
        return f"array '{MEMBER[kind]}' holds pickled Python objects"
    if case == "inconsistent_arrays":
        rewrite(path, replace={MEMBER[kind]: members(path)[1][MEMBER[kind]][:-1]})
        return {"Trace": "'hidden_0' has 5 rows for 6 tokens", "clusterer": "2 centers for n_clusters_=3"}[kind]
    raise AssertionError(case)


CASES = ["missing", "zero_bytes", "truncated_at_half", "flipped_byte", "flipped_header_byte", "text_file",
         "npy_file", "no_header", "header_not_json", "other_format", "header_missing_field", "newer_version",
         "missing_array", "wrong_dtype", "wrong_shape", "pickled_array", "inconsistent_arrays"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["Trace", "clusterer"])
def test_bad_file_is_one_input_error_naming_file_and_reason(tmp_path, kind, case):
    path = good_file(kind, tmp_path)
    LOADERS[kind](path)  # the file was good before
    reason = corrupt(case, kind, path)
    with pytest.raises(InputError) as err:
        LOADERS[kind](path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and reason in message, message


@pytest.mark.parametrize("kind", ["Trace", "clusterer"])
def test_every_cut_and_byte_flip_is_an_input_error_or_the_same_content(tmp_path, kind):
    """A sample of all truncations and single-byte flips: nothing but InputError escapes, and a file that still
    loads (a flip in zip metadata that no reader checks) holds exactly what was saved."""
    path = good_file(kind, tmp_path)
    raw, good = path.read_bytes(), LOADERS[kind](path)
    damaged = tmp_path / "damaged.npz"
    outcomes = {"error": 0, "same": 0}
    for i in range(0, len(raw), 7):
        for data in (raw[:i], raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:]):
            damaged.write_bytes(data)
            try:
                back = LOADERS[kind](damaged)
            except InputError as e:
                assert str(e).startswith(f"{damaged}: ")
                outcomes["error"] += 1
                continue
            if kind == "Trace":
                assert_same_trace(back, good)
            else:
                X = fixture_steps()
                np.testing.assert_array_equal(back.predict(X), good.predict(X))
                assert back.describe() == good.describe()
            outcomes["same"] += 1
    assert outcomes["error"] > outcomes["same"] > 0


def test_trace_file_listing_a_layer_it_lacks_is_damaged(tmp_path):
    path = fixture_trace().save(tmp_path / "t.npz")
    rewrite(path, drop=("hidden_2",))
    with pytest.raises(InputError, match=r"t.npz: damaged reasongraph Trace file: its header lists layer\(s\) \[2\]"):
        Trace.load(path)


def test_clusterer_file_lacking_a_fitted_attribute_is_damaged(tmp_path):
    path = good_file("clusterer", tmp_path)
    rewrite(path, header=lambda h: h["fitted"].pop("n_features_in_"))
    with pytest.raises(InputError, match="c.npz: damaged reasongraph clusterer file: its header's 'fitted' lacks "
                                         "'n_features_in_'"):
        load_clusterer(path)


def test_clusterer_file_with_unknown_parameters(tmp_path):
    path = good_file("clusterer", tmp_path)
    rewrite(path, header=lambda h: h["params"].update(colour="blue"))
    with pytest.raises(InputError, match="c.npz: clusterer parameters this reasongraph does not know"):
        load_clusterer(path)
