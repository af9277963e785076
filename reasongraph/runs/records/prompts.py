"""The prompts to sample from: a records file, a text file (one prompt a line) or a list, each prompt non-blank and
its id unique."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reasongraph.core.errors import InputError, opt
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.generate.options import SampleOptions

__all__ = ["Prompt", "read_prompts"]


@dataclass(frozen=True)
class Prompt:
    """One prompt to sample from: its position in the input, its id, its text, and how messages name it."""

    index: int
    id: str
    text: str
    where: str


def read_prompts(prompts: str | os.PathLike | Sequence[str], *, prompt_field: str = SampleOptions.prompt_field,
                 id_field: str | None = SampleOptions.id_field) -> list[Prompt]:
    """The prompts of a file or list, validated: every prompt a non-blank string, every id unique.

    Raises InputError naming the file, line and id of the first bad prompt (or the list index).
    """
    if isinstance(prompts, (str, os.PathLike)):
        path = Path(prompts)
        items = list(_text_prompts(path) if path.suffix.lower() == ".txt" else
                     _record_prompts(path, prompt_field, id_field))
    else:
        items = []
        for i, text in enumerate(prompts):
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"prompts[{i}] must be a non-empty string, got {text!r}")
            items.append(Prompt(i, str(i), text, f"prompts[{i}]"))
    if not items:
        raise InputError(f"{prompts if isinstance(prompts, (str, os.PathLike)) else 'prompts'}: no prompt to "
                         "sample from")
    seen: dict[str, str] = {}
    for p in items:
        if p.id in seen:
            raise InputError(f"{p.where}: prompt id {p.id!r} was already used at {seen[p.id]}; give every prompt "
                             "its own id (sample ids '<prompt id>/s<k>' must be unique)")
        seen[p.id] = p.where
    return items


def _record_prompts(path: Path, prompt_field: str, id_field: str | None) -> Iterator[Prompt]:
    try:
        reader = RecordReader(path, text_field=prompt_field, id_field=id_field)
    except InputError as e:
        raise InputError(_prompt_words(e.template)) from None
    for i, rec in enumerate(reader):
        if not rec.ok:
            raise InputError(f"{path}: {rec.where()}: {_prompt_words(rec.error)}")
        yield Prompt(i, rec.id if rec.id is not None else str(rec.line), rec.text, f"{path}: {rec.where()}")


def _prompt_words(message: str) -> str:
    """The reader calls the field it reads the text field; here that field holds the prompt."""
    return message.replace(opt("text_field"), opt("prompt_field")).replace("text field", "prompt field")


def _text_prompts(path: Path) -> Iterator[Prompt]:
    """One prompt per non-blank line of a UTF-8 text file; the id is the line number."""
    if not path.is_file():
        raise InputError(f"input not found: {path}")
    index = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise InputError(f"{path}: line {lineno}: undecodable bytes, not UTF-8 (column {e.start + 1})") \
                    from None
            if text.strip():
                yield Prompt(index, str(lineno), text, f"{path}: line {lineno}")
                index += 1


def check_lengths(items: list[Prompt], prompt_ids: list[list[int]], context: int, max_new_tokens: int) -> None:
    for p, ids in zip(items, prompt_ids):
        if len(ids) + max_new_tokens > context:
            raise InputError(f"{p.where}: the prompt is {len(ids)} tokens, and with "
                             f"{opt('max_new_tokens', max_new_tokens)} that is more than the model's context of "
                             f"{context} tokens; shorten the prompt or lower {opt('max_new_tokens')}")
