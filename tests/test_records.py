"""Readers of JSONL, CSV, Parquet and saved datasets: records, line numbers and per-record errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reasongraph.runs.records import columnar
from reasongraph.core.errors import InputError
from reasongraph.runs.records.record import Record
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.records.formats import detect_format

HF_FIXTURE = Path(__file__).parent / "data" / "hf_saved_dataset"  # written by datasets 5.2 save_to_disk


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def j(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.fixture
def bad_jsonl(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "in.jsonl", [
        j({"id": "a", "trace": "Step one.\nStep two.", "problem": "Q1", "model": "m1", "pair_key": 1}),  # 1
        b"{not json",                                                                                 # 2
        b"",                                                                                          # 3 blank
        j({"id": "c", "problem": "Q"}),                                                               # 4
        j({"id": "d", "trace": 17}),                                                                  # 5
        j({"id": "e", "trace": "  \n "}),                                                             # 6
        b'{"id": "f", "trace": "caf\xe9"}',                                                           # 7 latin-1
        j([1, 2]),                                                                                    # 8
        j({"id": 9, "trace": "fine", "problem": 3}),                                                  # 9
        j({"id": 10.0, "trace": "ok text", "model": "m2", "pair_key": 1.0}),                          # 10
    ])


def test_jsonl_records_and_each_kind_of_error(bad_jsonl: Path):
    reader = RecordReader(bad_jsonl, text_field="trace", prompt_field="problem", group_field="model",
                          pair_field="pair_key")
    recs = list(reader)
    assert [r.line for r in recs] == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert reader.count() == 9
    good = recs[0]
    assert good == Record(line=1, id="a", text="Step one.\nStep two.", prompt="Q1", group="m1", pair="1")
    errors = {r.line: r.error for r in recs if not r.ok}
    assert errors[2].startswith("not valid JSON")
    assert errors[4] == "missing text field 'trace'"
    assert errors[5] == "text field 'trace' is not a string (got int)"
    assert errors[6] == "empty text in field 'trace'"
    assert errors[7] == "undecodable bytes: not UTF-8 (byte 0xe9 at column 26)"
    assert errors[8] == "not a JSON object (got list)"
    assert errors[9] == "prompt field 'problem' is not a string (got int)"
    assert recs[2].id == "c" and recs[8].id == "10" and recs[8].pair == "1"  # 10.0 and 1.0 read as keys 10, 1
    assert set(errors) == {2, 4, 5, 6, 7, 8, 9}


def test_jsonl_bom_crlf_and_utf8_text(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + j({"id": "1", "trace": "Gr\u00fc\u00dfe\u2028ok"}) + b"\r\n"
                     + j({"id": "2", "trace": "b"}) + b"\r\n")
    recs = list(RecordReader(path))
    assert [(r.line, r.id, r.text) for r in recs] == [(1, "1", "Gr\u00fc\u00dfe\u2028ok"), (2, "2", "b")]


def test_missing_input_and_unknown_fields(tmp_path: Path, bad_jsonl: Path):
    with pytest.raises(InputError, match="input not found"):
        RecordReader(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match=r"unknown field name: text_field 'text'.*fields in the input: .*trace"):
        RecordReader(bad_jsonl, text_field="text")
    with pytest.raises(InputError, match="group_field 'modle'"):
        RecordReader(bad_jsonl, group_field="modle")
    with pytest.raises(InputError, match="cannot tell the format"):
        RecordReader(write_lines(tmp_path / "x.txt", [b"hi"]))


def test_default_id_field_may_be_absent_but_a_named_one_may_not(tmp_path: Path):
    path = write_lines(tmp_path / "noid.jsonl", [j({"trace": "a b"}), j({"trace": "c d"})])
    assert [(r.line, r.id) for r in RecordReader(path)] == [(1, None), (2, None)]
    with pytest.raises(InputError, match="id_field 'uid'"):
        RecordReader(path, id_field="uid")


def test_field_found_beyond_the_first_record(tmp_path: Path):
    path = write_lines(tmp_path / "late.jsonl", [j({"trace": "a"}), b"oops", j({"trace": "b", "model": "m"})])
    recs = list(RecordReader(path, group_field="model"))
    assert [r.group for r in recs] == [None, None, "m"]


def test_limit_counts_bad_records(bad_jsonl: Path):
    reader = RecordReader(bad_jsonl, limit=3)
    assert [r.line for r in reader] == [1, 2, 4]
    assert reader.count() == 3
    with pytest.raises(InputError, match="limit"):
        RecordReader(bad_jsonl, limit=-1)


def test_reader_is_reiterable(bad_jsonl: Path):
    reader = RecordReader(bad_jsonl)
    assert list(reader) == list(reader)


def test_csv_multiline_fields_bad_bytes_and_long_text(tmp_path: Path):
    long_text = "x" * 200_000  # beyond csv's default field limit of 131072 characters
    content = (b'id,trace,model\n'
               b'a,"line one\nline two",m1\n'     # record starts at line 2, spans 2 lines
               b'b,,m1\n'                          # line 4: empty -> missing text
               b'c,"caf\xe9",m2\n'                  # line 5: not UTF-8
               b'\n'                               # line 6: blank, not a record
               b'd,' + long_text.encode() + b',m2\n')  # line 7
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    reader = RecordReader(path, group_field="model")
    recs = list(reader)
    assert [r.line for r in recs] == [2, 4, 5, 7]
    assert recs[0].text == "line one\nline two" and recs[0].group == "m1"
    assert recs[1].error == "missing text field 'trace'"
    assert recs[2].error == "undecodable bytes: not UTF-8"
    assert recs[3].text == long_text
    assert reader.count() == 4
    with pytest.raises(InputError, match="fields in the input: id, model, trace"):
        RecordReader(path, text_field="text")


def test_tsv(tmp_path: Path):
    path = tmp_path / "in.tsv"
    path.write_text("id\ttrace\n1\thello, world\n")
    assert [(r.id, r.text) for r in RecordReader(path)] == [("1", "hello, world")]


def test_parquet_rows_and_types(tmp_path: Path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"id": [1, 2, 3], "trace": ["one step", None, ""], "n": [5, 6, 7],
                      "model": ["a", "b", None]})
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=2)
    recs = list(RecordReader(path, group_field="model"))
    assert [(r.line, r.id, r.text, r.group, r.error) for r in recs] == [
        (1, "1", "one step", "a", None),
        (2, "2", None, None, "missing text field 'trace'"),
        (3, "3", None, None, "empty text in field 'trace'"),
    ]
    assert RecordReader(path).count() == 3
    assert [r.error for r in RecordReader(path, text_field="n")][0] == "text field 'n' is not a string (got int)"
    with pytest.raises(InputError, match="unknown field name"):
        RecordReader(path, prompt_field="problem")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="cannot read as Parquet"):
        RecordReader(bad)


def _check_hf_fixture(path: Path) -> None:
    reader = RecordReader(path, prompt_field="problem", group_field="model", pair_field="pair_key")
    recs = list(reader)
    assert reader.count() == 4
    assert [(r.line, r.id, r.error) for r in recs] == [
        (1, "r1", None), (2, "r2", "missing text field 'trace'"), (3, "r3", "empty text in field 'trace'"),
        (4, "r4", None)]
    assert recs[0].text == "First step of the work.\nSecond step of the work."
    assert (recs[0].prompt, recs[0].group, recs[0].pair) == ("p?", "A", "q1")
    assert (recs[3].prompt, recs[3].group, recs[3].pair) == ("p2?", "B", "q2")
    assert [r.error for r in RecordReader(path, text_field="n")][0] == "text field 'n' is not a string (got int)"
    with pytest.raises(InputError, match="unknown field name.*fields in the input: id, model, n"):
        RecordReader(path, text_field="text")


def test_saved_dataset_read_with_pyarrow_when_datasets_is_absent(monkeypatch):
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(columnar, "_hf_has_datasets", lambda: False)
    assert detect_format(HF_FIXTURE) == "hf"
    _check_hf_fixture(HF_FIXTURE)


def test_saved_dataset_read_with_datasets_load_from_disk():
    pytest.importorskip("datasets", reason="the optional package datasets is not installed")
    _check_hf_fixture(HF_FIXTURE)


def test_saved_dataset_dict_and_plain_folder(tmp_path: Path):
    dd = tmp_path / "dd"
    shutil.copytree(HF_FIXTURE, dd / "train")
    (dd / "dataset_dict.json").write_text('{"splits": ["train"]}')
    with pytest.raises(InputError, match=r"DatasetDict with splits \['train'\]; pass one split's folder"):
        RecordReader(dd)
    with pytest.raises(InputError, match="not a dataset saved"):
        RecordReader(tmp_path)
