"""Reproductions of the seed notes: generated data and post-run measures.

The research presets (``training/presets/r0*.toml``, docs/experiments.md) are
ordinary run configs with a ``[research]`` table:

- ``generate`` names data made on the first run, deterministically from the
  seed, into the cache dir (:mod:`.generate`): ``labelled`` (a class-per-folder
  set of shapes standing in for CIFAR), ``composites`` (foreground objects pasted
  on backgrounds, with mask and depth targets, standing in for note 003's set)
  and ``realsr`` (real noise patches and a blur-kernel pool for note 004). The
  generated folders fill whatever the config leaves empty (``data.train``,
  ``data.target``, a recipe step's ``folder``); the saved config keeps them
  empty, so a resumed run finds (or remakes) the same data.
- ``report`` lists measures taken on the finished model (:mod:`.report`):
  they join the run's results in the journal and the model card.
- ``reported`` holds the original write-up's figures, stored beside ours as
  ``orig_<name>``.

This module stays free of torch so that config checks can import it.
"""
from __future__ import annotations

GENERATORS = ("labelled", "composites", "realsr")
MEASURES = ("losses", "kernel", "nyquist", "bicubic", "dense", "anomaly", "train_accuracy")


def prepare(cfg):
    """Generator: make the data ``cfg.research.generate`` asks for (Progress events);
    returns the DataConfig to train on."""
    from .generate import prepare_data

    return (yield from prepare_data(cfg))


def run_report(cfg, loop, data, exp, weights=None):
    """The measures of ``cfg.research.report`` on the finished run: (results, details).
    ``weights``: the state dict to measure instead of the loop's final (EMA) net."""
    from .report import run_report as run

    return run(cfg, loop, data, exp, weights)
