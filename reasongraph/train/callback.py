"""Watch exploration while a model trains: a ``transformers.TrainerCallback`` that probes the live policy.

Every ``every`` optimizer steps (and once before the first, with ``at_start``) the callback runs an
:class:`~reasongraph.train.probe.probe.ExplorationProbe` on the model being trained: the same prompts, sample count,
temperature and seed each time, so the numbers of two steps are comparable. The probe samples on-policy and scores
the samples with the live model, in eval mode and without autograd, then restores each module's train/eval flag;
it holds no second copy of the model. The first probe fixes the reference: the clustering the hidden-state walks
are labeled with and the entropy threshold of ``forking_share_ref``.

The measures go through the trainer's own logging, ``Trainer.log``, as ``exploration/<measure>`` (for example
``exploration/H_mean``, ``exploration/erank_window``), so the console, ``trainer.state.log_history``,
TensorBoard, Weights & Biases and every other ``report_to`` integration receive them with no extra setup. A
measure that is undefined at a step (NaN: no sample reached ``window`` tokens, say) is left out of that step's
entry. ``exploration/seconds`` is the probe's own wall time and ``exploration/step_seconds`` the mean wall time of
the training steps since the previous probe, so the overhead reads off the logs.

>>> probe = ExplorationProbe("probes.jsonl", samples=4, max_new_tokens=128)   # doctest: +SKIP
>>> trainer = GRPOTrainer(model=..., reward_funcs=..., args=..., train_dataset=...)   # doctest: +SKIP
>>> ExplorationCallback(probe, every=10).attach(trainer)                             # doctest: +SKIP
>>> trainer.train()                                                                  # doctest: +SKIP

Why ``attach``: a callback is not told which trainer runs it, and its ``on_log`` hook comes after the trainer's
reporting callbacks (TensorBoard, W&B...), so values added there would reach neither them nor the log history.
Logging through the trainer is the one way in; ``attach`` hands the callback its trainer and registers it.

In a multi-process run only the main process probes. Models sharded across processes (FSDP, DeepSpeed ZeRO-3)
cannot be probed from one process; probe their saved checkpoints with :func:`reasongraph.train.sweep.sweep` instead.
"""
from __future__ import annotations

import math
import time
from typing import Any

from transformers import Trainer, TrainerCallback

from reasongraph.core.checks import check_int
from reasongraph.core.errors import InputError, opt
from reasongraph.train.probe.live_model import live_model
from reasongraph.train.probe.measurement import Measurement
from reasongraph.train.probe.probe import as_probe

__all__ = ["ExplorationCallback"]


class ExplorationCallback(TrainerCallback):
    """Probe the live policy's exploration every ``every`` steps and log it through the trainer.

    Parameters
    ----------
    probe : an :class:`~reasongraph.train.probe.probe.ExplorationProbe`, or its prompts (a file or a list of strings),
        in
        which case ``probe_options`` build the probe (samples, temperature, max_new_tokens, seed, prompt_format,
        answers, answer_field, layer, segment, k, window, stride...).
    every : probe after every ``every``-th optimizer step (global steps ``every``, ``2 * every``, ...).
    at_start : also probe once before training starts (global step 0, or the step a resumed run starts at): the
        reference every later probe is compared with.
    prefix : the prefix of the logged names.
    tokenizer : the tokenizer to decode and score with; None takes the trainer's ``processing_class``.

    Attributes
    ----------
    measurements : [(global step, :class:`~reasongraph.train.probe.measurement.Measurement`)] of every probe so far,
        samples
        included.
    step_seconds : wall time of each training step (the probes excluded).
    trainer : the trainer given to :meth:`attach`.
    """

    def __init__(self, probe: Any, *, every: int = 50, at_start: bool = True, prefix: str = "exploration/",
                 tokenizer: Any = None, **probe_options: Any) -> None:
        check_int("every", every, low=1)
        if not isinstance(at_start, bool):
            raise InputError(f"{opt('at_start')} must be True or False, got {at_start!r}")
        probe = as_probe(probe, **probe_options)
        self.probe, self.every, self.at_start, self.prefix, self.tokenizer = probe, every, at_start, prefix, tokenizer
        self.trainer: Any = None
        self.measurements: list[tuple[int, Measurement]] = []
        self.step_seconds: list[float] = []
        self._step_started: float | None = None
        self._steps_since_probe: list[float] = []

    def attach(self, trainer: Any) -> "ExplorationCallback":
        """Log through ``trainer`` and register with it (``trainer.add_callback``, unless already registered)."""
        if not hasattr(trainer, "log") or not hasattr(trainer, "callback_handler"):
            raise InputError(f"attach needs a transformers Trainer (or a TRL trainer), got {type(trainer).__name__}")
        self.trainer = trainer
        if self not in trainer.callback_handler.callbacks:
            trainer.add_callback(self)
        return self

    # ------------------------------------------------------------------ trainer events
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                       **kwargs: Any) -> None:
        if self.trainer is None:
            raise InputError("ExplorationCallback logs through its trainer: call callback.attach(trainer) before "
                             "trainer.train() (attach also registers the callback)")
        if self.at_start and state.is_world_process_zero:
            self._probe(state, control, model, processing_class)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._step_started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                    **kwargs: Any) -> None:
        if self._step_started is not None:
            seconds = time.perf_counter() - self._step_started
            self.step_seconds.append(seconds)
            self._steps_since_probe.append(seconds)
            self._step_started = None
        if state.global_step % self.every == 0 and state.is_world_process_zero:
            self._probe(state, control, model, processing_class)

    # ------------------------------------------------------------------ the probe
    def _probe(self, state: Any, control: Any, model: Any, processing_class: Any) -> None:
        if self.measurements and self.measurements[-1][0] == state.global_step:
            return  # once per step, whichever event asks twice
        tokenizer = self.tokenizer or getattr(processing_class, "tokenizer", processing_class)
        model = model if model is not None else self.trainer.model
        measurement = self.probe.measure(live_model(model, tokenizer))
        self.measurements.append((state.global_step, measurement))
        logs = {f"{self.prefix}{k}": float(v) for k, v in measurement.metrics.items() if math.isfinite(v)}
        if self._steps_since_probe:
            logs[f"{self.prefix}step_seconds"] = sum(self._steps_since_probe) / len(self._steps_since_probe)
            self._steps_since_probe = []
        # Trainer.log itself, not a subclass's override: TRL trainers' log() drains the training metrics they
        # average over logging_steps into whatever entry is logged, which would cut their window short.
        log = Trainer.log if isinstance(self.trainer, Trainer) else type(self.trainer).log
        # Logging resets control.should_log (the callback handler's on_log does): keep the trainer's own log of
        # this step, which DefaultFlowCallback asked for just before.
        should_log = control.should_log
        log(self.trainer, logs)
        control.should_log = should_log
