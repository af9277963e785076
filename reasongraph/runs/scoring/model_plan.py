"""Which model scores which record: one model for all, one per group, or the model each record names.

A comparison of token entropy between a base and an RL-trained model is faithful only when each group's traces
run through the model that wrote them; scoring both with a third model measures that model's surprise at the text.
:class:`ModelPlan` resolves the ``model`` / ``model_field`` arguments of :func:`reasongraph.score_dataset` into
units (one per distinct model, keyed by the model's name), checks them against the groups in the data before any
work, loads each model only when its records are extracted, and frees it after.
"""
from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reasongraph.core.errors import InputError, ModelNotAvailableError, opt
from reasongraph.models.device import resolve_device_dtype
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.smollm2 import DEFAULT_MODEL
from reasongraph.models.sources import check_available, load_model, model_name
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.records.record import Record

__all__ = ["DEFAULT_KEY", "ModelPlan"]

#: The key of a model map that covers every group not named in it (``--model SPEC`` on the command line).
DEFAULT_KEY = "*"


@dataclass
class Unit:
    """One model and the groups it scores."""

    name: str
    spec: Any
    groups: list = field(default_factory=list)


class ModelPlan:
    """The models of a run and the record -> model assignment. Build it with :meth:`build`."""

    def __init__(self, units: dict[str, Unit], by_group: dict[Any, str] | None, field_name: str | None,
                 identity: dict, device: Any, dtype: Any, n_records: int, n_chars: int) -> None:
        self.units = units
        self._by_group = by_group
        self._field = field_name
        self._identity = identity
        self.device, self.dtype = device, dtype
        self.n_records, self.n_chars = n_records, n_chars

    @classmethod
    def build(cls, model: Any, model_field: str | None, reader: RecordReader, *, device: Any = None,
              dtype: Any = None, here: bool = True) -> "ModelPlan":
        """Resolve the models for ``reader``'s records; every inconsistency is an InputError now. ``here=False``:
        the models load on other machines (see :func:`~reasongraph.models.device.resolve_device_dtype`).

        Raises InputError for a model map naming a group the data lacks, a group the map leaves without a model,
        a map without ``group_field``, ``model`` together with ``model_field``, or two specs of one name.
        """
        scan = reader.scan()
        if model_field is not None:
            if model is not None:
                raise InputError(f"give {opt('model')} or {opt('model_field')}, not both")
            assignment, given = None, {m: m for m in scan.models}
        elif isinstance(model, Mapping):
            given = dict(model)
            _check_map(given, scan.groups, reader.fields.get("group"))
            assignment = {g: given.get(str(g), given.get(DEFAULT_KEY)) for g in scan.groups}
        else:
            given = {DEFAULT_KEY: model}
            assignment = {g: model for g in scan.groups} or {None: model}
        lm = next((s for s in given.values() if isinstance(s, LoadedModel)), None)
        if lm is not None and (device is not None or dtype is not None):
            raise InputError(f"{opt('device')} and {opt('dtype')} apply to models given by name, not to a loaded "
                             "model")
        device, dtype = (lm.device, lm.dtype) if lm is not None else resolve_device_dtype(device, dtype, here=here)
        units: dict[str, Unit] = {}
        for key, spec in (assignment or given).items():
            name = model_name(spec)
            unit = units.setdefault(name, Unit(name, spec))
            if _spec_text(unit.spec) != _spec_text(spec):
                raise InputError(f"two different models are both named {name!r} ({_spec_text(unit.spec)} and "
                                 f"{_spec_text(spec)}); give one of them another folder name")
            if assignment is not None:
                unit.groups.append(key)
        by_group = None if assignment is None else {g: model_name(spec) for g, spec in assignment.items()}
        identity = {"models": {str(k): model_name(v) for k, v in given.items()}, "model_field": model_field,
                    "device": device.type, "dtype": str(dtype).removeprefix("torch.")}
        return cls(units, by_group, model_field, identity, device, dtype, scan.n_records, scan.n_chars)

    # ------------------------------------------------------------------ assignment
    def name_of(self, rec: Record) -> str:
        """The name of the model that scores ``rec``."""
        if self._by_group is None:
            return model_name(rec.model)
        return self._by_group[rec.group]

    def identity(self) -> dict:
        """The models as they go into the run's manifest: their names (however they were given), the device and
        the dtype. What exactly each model is (its config) is checked against models.json when it loads."""
        return dict(self._identity)

    def scored_by(self) -> dict[str, str]:
        """{group: model name} when groups decide the model (empty when the data names each record's model)."""
        return {str(g): name for g, name in (self._by_group or {}).items()}

    def mode(self) -> str:
        """"faithful" when groups are scored by models of their own, else "proxy: all groups scored by X"."""
        if len(self.units) == 1:
            return f"proxy: all groups scored by {next(iter(self.units))}"
        return "faithful" if self._by_group is None or len(set(self._by_group.values())) > 1 else "mixed"

    # ------------------------------------------------------------------ loading
    def check_available(self) -> None:
        """Every model of the plan can be loaded here (checked without loading weights): a missing model fails
        the run before any work, not after the models before it."""
        for unit in self.units.values():
            with self._naming(unit):
                check_available(unit.spec)

    def load(self, name: str) -> Any:
        """Load the model of unit ``name``; a model that cannot load is an InputError naming its groups."""
        unit = self.units[name]
        if isinstance(unit.spec, LoadedModel):
            return unit.spec
        with self._naming(unit):
            return load_model(unit.spec if unit.spec is not None else "smollm2-135m", device=self.device,
                              dtype=self.dtype)

    @contextmanager
    def _naming(self, unit: Unit) -> Iterator[None]:
        """A model that is not available becomes an InputError naming the groups it was to score."""
        try:
            yield
        except ModelNotAvailableError as e:
            whose = f" (the model of {', '.join(map(repr, unit.groups))})" if unit.groups and unit.groups != [None] \
                else ""
            reason = re.sub(r"^(cannot load )?model '[^']*': ", "", str(e))  # the spec is named once, here
            raise InputError(f"{opt('model')} {_spec_text(unit.spec)}{whose} cannot be loaded: {reason}") from None

    def release(self, name: str, lm: Any) -> None:
        """Free a model this plan loaded (a model the caller passed in stays the caller's)."""
        if isinstance(self.units[name].spec, LoadedModel):
            return
        del lm
        gc.collect()
        if getattr(self.device, "type", "cpu") == "cuda":
            import torch

            torch.cuda.empty_cache()


def _spec_text(spec: Any) -> str:
    if spec is None:
        return DEFAULT_MODEL
    return spec.name if isinstance(spec, LoadedModel) else str(spec)


def _check_map(given: dict, groups: Mapping, group_field: str | None) -> None:
    """Check a {group: spec} map against the groups of the data."""
    if group_field is None:
        raise InputError(f"a model per group needs {opt('group_field')}: name the field that holds the groups")
    present = [str(g) for g in groups if g is not None]
    unknown = [g for g in given if g != DEFAULT_KEY and g not in present]
    if unknown:
        raise InputError(f"{opt('model')} names the group {unknown[0]!r}, which the data does not have; its groups "
                         f"are {', '.join(map(repr, present)) or 'none'}")
    if DEFAULT_KEY not in given:
        missing = [g for g in groups if g is None or str(g) not in given]
        if missing:
            what = "records without a group" if missing[0] is None else f"the group {missing[0]!r}"
            raise InputError(f"{opt('model')} gives no model for {what}; name one for it, or a default model "
                             "for every other group")
