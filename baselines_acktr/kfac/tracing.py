"""How the project compiles its hot paths: ``tf.function`` traced without AutoGraph.

The training steps, the acting and value functions and the batched eigen-decomposition hold
no Python control flow that depends on a tensor (their branches are ``tf.cond`` written out,
or Python values fixed at trace time), so AutoGraph's source rewrite has nothing to convert;
skipping it halves the start of a small run (an ACKTR Atari run of 3 updates: 21.6 s →
12 s, most of it the rewrite of the K-FAC step).  Code that did depend on a tensor's value
would fail loudly at the first trace ("using a tf.Tensor as a Python bool"), never silently.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

import tensorflow as tf


def traced(fn: Callable, input_signature: Any = None) -> Any:
    """``tf.function(fn, input_signature=..., autograph=False)``."""
    return tf.function(fn, input_signature=input_signature, autograph=False)
