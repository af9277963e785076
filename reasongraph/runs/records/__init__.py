"""Reading datasets of reasoning traces as a stream of records, each either scoreable or carrying its error.

Inputs: JSON Lines (``.jsonl``, ``.ndjson``), CSV (``.csv``; ``.tsv`` tab-separated), Parquet (``.parquet``,
``.pq``; needs pyarrow) and a Hugging Face ``datasets`` dataset saved with ``save_to_disk`` (a folder; read with
``datasets.load_from_disk`` when that package is installed, else straight from its Arrow files with pyarrow).

Records stream one at a time, so memory stays flat in the size of the input, and the reader can be iterated
again (the two passes of :func:`reasongraph.score_dataset` each read the file). Problems are split in two kinds:

* a problem with the whole input (missing file, unknown format, a field name that the input does not have) is an
  :class:`~reasongraph.core.errors.InputError` raised when the reader is built, before any work starts;
* a problem with one record (a line that is not JSON, undecodable bytes, a missing or non-string text, an empty
  text without a prompt) yields a :class:`Record` whose ``error`` says what is wrong, so a batch job can skip it
  and account for it. An empty text with a prompt is a record: a response that ended at once (a trace of no
  steps, as sampling can give).

Every record has a ``line``: the 1-based line of the file where it starts (JSONL, CSV), or its 1-based row number
(Parquet, saved datasets). Blank lines in a JSONL file are not records.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "detect_format": "reasongraph.runs.records.formats",
    "Prompt": "reasongraph.runs.records.prompts",
    "read_prompts": "reasongraph.runs.records.prompts",
    "Record": "reasongraph.runs.records.record",
    "RecordReader": "reasongraph.runs.records.reader",
    "Scan": "reasongraph.runs.records.record",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
