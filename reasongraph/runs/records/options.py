"""The options of reading a dataset of traces (:class:`ReadOptions`: which fields hold what, how many records),
each defined once (:mod:`reasongraph.core.options`). Light: the command line builds its flags from here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reasongraph.analysis.groups.options import CompareOptions  # noqa: F401 (group_field, pair_field derive from it)
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import SAME, Check, OptionalInt, Options, derived, option, whole_number

__all__ = ["Field", "ReadOptions"]


class Field(Check):
    """A field's name (a non-empty string), or None where ``optional``."""

    def __init__(self, *, optional: bool = True) -> None:
        self.optional = optional

    def __call__(self, name: str, value: Any) -> Any:
        if not (isinstance(value, str) and value or value is None and self.optional):
            raise InputError(f"{opt(name)} must name a field, got {value!r}")
        return value

    def describe(self) -> str:
        return ("None or " if self.optional else "") + "a field's name"


@dataclass(frozen=True)
class ReadOptions(Options):
    """Which fields of the input's records hold what, and how many records to read."""

    text_field: str = option("trace", check=Field(optional=False), metavar="FIELD", help="field holding the trace")
    prompt_field: str | None = option(None, check=Field(), metavar="FIELD",
                                      help="field holding the prompt (default: none, each trace alone)")
    id_field: str | None = option("id", check=Field(), metavar="FIELD",
                                  help="field holding the record id, if present")
    group_field: str | None = derived("CompareOptions.group_field", default=None, check=Field(), cli_default=SAME,
                                      help="field naming the group to summarize by, e.g. model (default: none, one "
                                           "group)")
    pair_field: str | None = derived("CompareOptions.pair_field", default=None, check=Field(), cli_default=SAME,
                                     help="field pairing records across groups, e.g. pair_key (the problem; default: "
                                          "none, unpaired)")
    model_field: str | None = option(None, check=Field(), metavar="FIELD",
                                     help="instead of --model, the field naming each record's model (default: none, "
                                          "--model decides)")
    sample_group_field: str | None = option(None, check=Field(), flag="--sample-group", metavar="FIELD",
                                            help="field that several samples of one prompt share (e.g. prompt_id of "
                                                 "reasongraph generate): writes diversity.jsonl, the diversity of "
                                                 "each prompt's samples (default: none)")
    temperature_field: str | None = option(None, check=Field(), metavar="FIELD",
                                           help="field with the temperature each trace was sampled at: score it at "
                                                "that temperature (on-policy samples of reasongraph generate: "
                                                "temperature; default: none, all at --temperature)")
    policy_field: str | None = option(None, check=Field(), metavar="FIELD",
                                      help="field naming the model that sampled each trace, to mark rows scored "
                                           "on-policy (reasongraph generate: model; default: none)")
    limit: int | None = option(None, check=OptionalInt(low=0), metavar="N", parse=whole_number,
                               help="score only the first N records (default: all)")

    def reader_keywords(self) -> dict:
        """The keyword arguments of :class:`~reasongraph.runs.records.reader.RecordReader`."""
        return {name: getattr(self, name) for name in self.names()}
