"""One definition of each option: a field of a frozen dataclass with its default, check, flag and help.

An options class is a frozen dataclass deriving from :class:`Options` whose fields are made by :func:`option`
(or :func:`derived`: the same option with another default or help in another context). From the fields alone come
the checks (:meth:`Options.checked`, one InputError naming the first bad option, in the caller's words through
:func:`~reasongraph.core.errors.opt`), the identity that goes into a manifest (:meth:`Options.identity`), the
command-line flags (:meth:`Options.add_arguments`, :meth:`Options.from_args`) and the documentation
(:func:`markdown`). :func:`compose` joins classes into one flat class; :func:`split_keywords` routes an entry
point's ``**keywords`` to the classes that hold them.

Light: the command line imports this module to build its parser, so it imports no numpy (numbers are recognized
through :mod:`numbers`, where numpy registers its scalars).
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
from collections.abc import Callable, Iterable
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.option_checks import (Check, Choice, Each, Flag, Int, IntOrAuto, Number, Optional,
                                            OptionalInt, Seed, Text, k_or_auto, positive_int, whole_number)

__all__ = ["CI", "MISSING", "N_BOOT", "SAME", "SEED", "TITLE", "Check", "Choice", "Each", "Flag", "Int", "IntOrAuto",
           "Number", "Optional", "OptionalInt", "Options", "Seed", "Seeded", "Spec", "Text", "compose", "derived",
           "given_or_keywords", "k_or_auto", "markdown", "option", "positive_int", "split_keywords", "whole_number"]

MISSING: Any = dataclasses.MISSING


class _Same:
    def __repr__(self) -> str:
        return "SAME"


#: ``cli_default`` of an option whose flag has the API's default.
SAME: Any = _Same()


# ---- fields ----------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Spec:
    """What :func:`option` knows of one option besides its default."""

    check: Check
    help: str
    flag: str | None = None          # None: --name-with-dashes
    aliases: tuple = ()
    metavar: str | None = None
    repeat: bool = False             # action="append" with ``parse``; from_args maps None to the default
    parse: Callable[[str], Any] | None = None   # the argparse type (default: the check's)
    cli: bool = True                 # has a flag
    cli_default: Any = SAME          # the flag's default when it differs from the API's
    identity: bool = True            # goes into identity()
    to_identity: Callable[[Any], Any] | None = None
    section: str | None = None       # identity(section=...) picks a part
    base: str | None = None          # derived from "Class.field" (or "seed", "n_boot", "ci", "title")


def option(default: Any, *, check: Check, help: str, flag: str | None = None, aliases: Iterable[str] = (),
           metavar: str | None = None, repeat: bool = False, parse: Callable[[str], Any] | None = None,
           cli: bool = True, cli_default: Any = SAME, identity: bool = True,
           to_identity: Callable[[Any], Any] | None = None, section: str | None = None) -> Any:
    """A field of an options class: ``name: type = option(default, check=..., help=...)``."""
    spec = Spec(check=check, help=help, flag=flag, aliases=tuple(aliases), metavar=metavar, repeat=repeat,
                parse=parse, cli=cli, cli_default=cli_default, identity=identity,
                to_identity=to_identity, section=section)
    return dataclasses.field(default=default, metadata={"option": spec})


_CLASSES: dict[str, type] = {}
_SHARED: dict[str, Any] = {}


def derived(base: str, *, default: Any = MISSING, help: str | None = None, check: Check | None = None,
            flag: str | None = None, **changes: Any) -> Any:
    """The option ``base`` ("ExtractOptions.temperature", or a shared one: "seed", "n_boot", "ci", "title") in
    another context: the same meaning, with another default, help, check, flag or other :class:`Spec` entry."""
    if base in _SHARED:
        field = _SHARED[base]
    else:
        owner, _, name = base.partition(".")
        if owner not in _CLASSES or name not in _CLASSES[owner].__dataclass_fields__:
            raise TypeError(f"derived({base!r}): no such option (import its class first)")
        field = _CLASSES[owner].__dataclass_fields__[name]
    spec = field.metadata["option"]
    given = {"help": help, "check": check, "flag": flag}
    spec = dataclasses.replace(spec, base=base, **{k: v for k, v in given.items() if v is not None}, **changes)
    return dataclasses.field(default=field.default if default is MISSING else default, metadata={"option": spec})


def _shared(name: str, field: Any) -> Any:
    _SHARED[name] = field
    return field


#: Options shared across commands, used as ``seed: int = SEED`` (a default as ``SEED.default``).
SEED = _shared("seed", option(0, check=Seed(), help="seed of clustering, sampling, bootstrap, permutations"))
N_BOOT = _shared("n_boot", option(2000, check=Int(low=1), help="bootstrap resamples", metavar="N",
                                  parse=positive_int))
CI = _shared("ci", option(0.95, check=Number(0, 1, low_open=True, high_open=True),
                          help="confidence level of the bootstrap intervals"))
TITLE = _shared("title", option(None, check=Check(), identity=False,
                                help="the title of an HTML page (default: the page's own)"))


def _fields(cls: type) -> list:
    return [f for f in dataclasses.fields(cls) if "option" in f.metadata]


def _spec(field: Any) -> Spec:
    return field.metadata["option"]


def _flag(field: Any) -> str:
    return _spec(field).flag or "--" + field.name.replace("_", "-")


def _json(value: Any) -> Any:
    return [_json(v) for v in value] if isinstance(value, (tuple, list)) else value


class Options:
    """Mixin of frozen option dataclasses: checked construction, identity, flags."""

    _parts: tuple = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _CLASSES[cls.__name__] = cls

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in _fields(cls))

    @classmethod
    def checked(cls, **given: Any) -> Any:
        """The options with each value checked in field order (the first bad one raises InputError), then the
        cross-field rules (``validate``); an unknown name raises TypeError."""
        unknown = [name for name in given if name not in cls.names()]
        if unknown:
            raise TypeError(_unknown(unknown[0], cls.names(), cls.__name__))
        values = {f.name: _spec(f).check(f.name, given.get(f.name, f.default)) for f in _fields(cls)}
        self = cls(**values)
        for validate in _validators(cls):
            validate(self)
        return self

    def validate(self) -> None:
        """Rules between fields (override); raise InputError."""

    def identity(self, *, section: str | None = None) -> dict:
        """The fields that go into an identity, in field order, as JSON values (``section``: that part only)."""
        out = {}
        for f in _fields(type(self)):
            spec = _spec(f)
            if spec.identity and (section is None or spec.section == section):
                value = getattr(self, f.name)
                out[f.name] = _json(spec.to_identity(value) if spec.to_identity else value)
        return out

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes``, checked again."""
        return type(self).checked(**{**{n: getattr(self, n) for n in self.names()}, **changes})

    @classmethod
    def add_arguments(cls, group: Any, *, exclude: Iterable[str] = (), only: Iterable[str] | None = None) -> None:
        """One flag per option with a flag (not in ``exclude``; with ``only``, those, in that order)."""
        by_name = {f.name: f for f in _fields(cls)}
        names = list(only) if only is not None else list(by_name)
        for name in names:
            f = by_name[name]
            spec = _spec(f)
            if not spec.cli or name in set(exclude):
                continue
            default = f.default if spec.cli_default is SAME else spec.cli_default
            kwargs: dict[str, Any] = {"dest": name, "help": spec.help}
            if spec.repeat:
                kwargs.update(action="append", default=None, type=spec.parse or spec.check.arg_type)
            elif default is False and isinstance(spec.check, Flag):
                kwargs.update(action="store_true")
            else:
                kwargs["default"] = default
                parse = spec.parse or spec.check.arg_type
                if parse is not None:
                    kwargs["type"] = parse
                if spec.check.choices is not None:
                    kwargs["choices"] = spec.check.choices
            if spec.metavar is not None:
                kwargs["metavar"] = spec.metavar
            group.add_argument(_flag(f), *spec.aliases, **kwargs)

    @classmethod
    def from_args(cls, ns: argparse.Namespace, **overrides: Any) -> Any:
        """The options named by parsed flags (an option without a flag, or absent: its default), checked."""
        values = {}
        for f in _fields(cls):
            value = getattr(ns, f.name, f.default) if _spec(f).cli else f.default
            values[f.name] = f.default if value is None and _spec(f).repeat else value
        return cls.checked(**{**values, **overrides})


def _validators(cls: type) -> list:
    out = []
    for part in cls._parts:
        out += [v for v in _validators(part) if v not in out]
    own = next((c.__dict__["validate"] for c in cls.__mro__ if "validate" in c.__dict__), None)
    if own is not None and own is not Options.validate and own not in out:
        out.append(own)
    return out


def compose(name: str, *classes: type) -> type:
    """A flat frozen options class holding the fields of ``classes`` in order (a name held twice: the first);
    its ``checked`` also runs each part's ``validate``; subclass it to add fields or rules."""
    fields, seen = [], set()
    for part in classes:
        for f in _fields(part):
            if f.name not in seen:
                seen.add(f.name)
                fields.append((f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata)))
    cls = dataclasses.make_dataclass(name, fields, bases=(Options,), frozen=True)
    cls._parts = tuple(classes)
    return cls


def _unknown(name: str, known: Iterable[str], where: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{where}() got an unexpected keyword argument {name!r}{hint}"


def split_keywords(keywords: dict, *classes: type, where: str = "options", extra: Iterable[str] = ()) -> list[dict]:
    """``keywords`` split into one dict per class (a name several classes hold goes to each); a name no class
    holds (and not in ``extra``) raises TypeError with the closest names, as Python does for a misspelt keyword."""
    out: list[dict] = [{} for _ in classes]
    known = [n for c in classes for n in c.names()] + list(extra)
    for key, value in keywords.items():
        homes = [i for i, c in enumerate(classes) if key in c.names()]
        if not homes and key not in extra:
            raise TypeError(_unknown(key, known, where))
        for i in homes:
            out[i][key] = value
    return out


def given_or_keywords(cls: type, given: Any, keywords: dict, name: str) -> Any:
    """An entry point's options of ``cls``: the object ``given`` (parameter ``name``), or those its ``keywords``
    name, checked either way (a dataclass built directly skips the checks); both at once is an InputError."""
    if given is None:
        return cls.checked(**keywords)
    if not isinstance(given, cls):
        raise InputError(f"{opt(name)} must be {cls.__name__}, got {type(given).__name__}")
    if keywords:
        raise InputError(f"give {opt(name)} or its keywords ({', '.join(keywords)}), not both")
    return given.replace()


def markdown(classes: Iterable[type]) -> str:
    """The options of ``classes`` as Markdown: one table per class (name and the option it derives from, default,
    check, flag, help)."""
    parts = []
    for cls in classes:
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        doc = "" if doc.startswith(cls.__name__ + "(") else " ".join(doc.split())
        inherited = {n for part in cls._parts for n in part.names()}
        if cls._parts:
            doc += (" " if doc else "") + "Composed of " + ", ".join(p.__name__ for p in cls._parts) + (
                ", and:" if set(cls.names()) - inherited else ".")
        rows = ["| option | default | check | flag | help |", "|---|---|---|---|---|"]
        for f in (f for f in _fields(cls) if f.name not in inherited):
            spec = _spec(f)
            flag = "" if not spec.cli else " ".join(f"`{x}`" for x in (_flag(f), *spec.aliases))
            name = f"`{f.name}`" + (f" (from `{spec.base}`)" if spec.base else "")
            cells = [name, f"`{f.default!r}`", spec.check.describe(), flag, spec.help]
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        table = "\n".join(rows) + "\n" if len(rows) > 2 else ""
        parts.append(f"## {cls.__name__}\n\n" + (doc + "\n\n" if doc else "") + table)
    return "\n".join(parts)


@dataclasses.dataclass(frozen=True)
class Seeded(Options):
    """The seed alone (composed last where a command takes one)."""

    seed: int = SEED
