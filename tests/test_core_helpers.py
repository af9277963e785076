"""The helpers that replaced hand-written copies (core/json_values, core/text, core/hashing) give what each copy gave.

The old copies are kept here, verbatim, as the reference: the JSON coercion of rows (runs/scoring/row.py's
``jsonable``), of pages (html/document.py's ``_jsonable``) and of strict files (``strict_json``); the two folder
hashes (a run's input, a generate output's prompts) and the model-config hash.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reasongraph.core.hashing import GENERATE_V1, RECORDS_V1, config_sha256, file_sha256, tree_sha256
from reasongraph.core.json_values import json_value, strict_json
from reasongraph.core.text import find_lone_surrogate, has_lone_surrogate, replace_lone_surrogates

_OLD_SURROGATE = re.compile("[\ud800-\udfff]")


def old_row_jsonable(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return [old_row_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): old_row_jsonable(x) for k, x in v.items()}
    return v


def _old_clean(s: str) -> str:
    return _OLD_SURROGATE.sub("\ufffd", s)


def old_page_jsonable(obj: Any) -> Any:
    if isinstance(obj, str):
        return _old_clean(obj)
    if obj is None or isinstance(obj, (bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {_old_clean(str(k)): old_page_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [old_page_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return old_page_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return old_page_jsonable(obj.item())
    if isinstance(obj, (set, frozenset)):
        return [old_page_jsonable(v) for v in sorted(obj, key=str)]
    return _old_clean(str(obj))


def old_strict_json(value: Any) -> Any:
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): old_strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [old_strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dump(v: Any) -> str:
    return json.dumps(v, ensure_ascii=True, sort_keys=False, default=repr)


TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFFFF), max_size=6)  # surrogates included
FLOAT = st.floats(allow_nan=True, allow_infinity=True)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), FLOAT, TEXT,
                   FLOAT.map(np.float64), st.floats(width=32).map(np.float32), st.integers(-100, 100).map(np.int64),
                   st.booleans().map(np.bool_))
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.one_of(TEXT, st.integers(0, 9)), inner, max_size=3),
                            st.lists(FLOAT, max_size=4).map(lambda xs: np.asarray(xs, dtype=np.float64)),
                            st.lists(st.integers(-9, 9), max_size=4).map(np.asarray)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(VALUE)
def test_json_value_gives_what_each_old_copy_gave(v):
    assert _dump(json_value(v)) == _dump(old_row_jsonable(v))
    assert _dump(json_value(v, nonfinite="null")) == _dump(old_strict_json(v)) == _dump(strict_json(v))
    page = json_value(v, nonfinite="null", clean_text=True, unknown="str")
    assert json.dumps(page, ensure_ascii=False, allow_nan=False) == json.dumps(old_page_jsonable(v),
                                                                              ensure_ascii=False, allow_nan=False)


def test_json_value_on_what_pages_hold_besides_numbers():
    odd = {"s": {3, 1, 2}, "p": Path("a/b"), "b": b"x", "u": "a\ud800b", "\udc80k": np.float32(0.5), "z": None}
    assert json_value(odd, nonfinite="null", clean_text=True, unknown="str") == old_page_jsonable(odd) == {
        "s": [1, 2, 3], "p": "a/b", "b": "b'x'", "u": "a\ufffdb", "\ufffdk": 0.5, "z": None}
    assert json_value({"s": {1}})["s"] == {1}  # rows keep what they hold
    assert math.isnan(json_value([np.float64("nan")])[0]) and json_value([np.float64("nan")], nonfinite="null") == [None]


def test_the_text_sanitizer():
    assert find_lone_surrogate("ok \ud83d!").start() == 3 and find_lone_surrogate("ok 😀") is None
    assert has_lone_surrogate("\udfff") and not has_lone_surrogate("plain") and not has_lone_surrogate(3)
    assert replace_lone_surrogates("a\ud800\udc00b") == "a\ufffd\ufffdb" and replace_lone_surrogates("é😀") == "é😀"


def _old_records_sha(path: Path) -> str:
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(path)).encode() + b"\0" + file_sha256(p).encode())
    return h.hexdigest()


def _old_generate_sha(path: Path) -> str:
    h = hashlib.sha256()
    for p in ([path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())):
        h.update(str(p.relative_to(path) if p != path else "").encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def test_both_folder_hashes_keep_their_formulas(tmp_path):
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_bytes(b'{"trace": "x"}\n')
    (folder / "sub" / "b.arrow").write_bytes(bytes(range(256)) * 5000)  # over one read block
    one = folder / "a.jsonl"
    for path in (folder, one, tmp_path / "missing"):
        assert tree_sha256(path, scheme=RECORDS_V1) == _old_records_sha(path)
        assert tree_sha256(path, scheme=GENERATE_V1) == _old_generate_sha(path)
    assert tree_sha256(folder, scheme=RECORDS_V1) != tree_sha256(folder, scheme=GENERATE_V1)
    (folder / "sub" / "b.arrow").write_bytes(b"changed")
    assert tree_sha256(folder, scheme=RECORDS_V1) != _old_records_sha(one)


def test_the_config_hash(tiny):
    config = tiny.model.config
    assert config_sha256(config) == hashlib.sha256(config.to_json_string(use_diff=False).encode()).hexdigest()
    assert tiny.identity()["config"] == config_sha256(config)
    assert config_sha256(None) == hashlib.sha256(b"None").hexdigest()
