"""Curvature factors: a running average of one statistic, and how it is inverted.

Paper section 2.2: a layer's Fisher block is approximated as ``A ⊗ S`` with
``A = E[a aᵀ]`` over its input activations and ``S = E[δ δᵀ]`` over the
gradients of the sampled Fisher loss at its output (baselines calls them the
``fprop`` and ``bprop`` factors; the code and docs call them ``A`` and ``G``, so the
paper's ``S`` is ``G`` here).

Every factor keeps baselines' running average ``cov`` (a superbatch mean for the
first ``accum_iter`` statistics steps, then an EMA; ``apply_stats``) and computes
one batch's statistic through one signature, :meth:`Factor.statistic` of a
:class:`StatInputs`.  What it reads is declared, not branched on: ``source(capture)``
is the tensor it reads, and with ``reads_gradient`` the statistic is of the
sampled Fisher loss's gradient with respect to that tensor.  How it is inverted is
its base class:

* :class:`EigenFactor` — a square ``cov`` with the eigen-decomposition
  ``cov = Q·diag(e)·Qᵀ`` that preconditioning reads (``computeStatsEigen``),
  refreshed every ``kfac_update`` statistics steps, on the eigen thread when async;
* :class:`DiagonalFactor` — a ``cov`` holding only a diagonal, divided by directly
  (nothing to decompose; kfac-jax's and tensorflow/kfac's diagonal blocks).

The concrete factors: :class:`DenseActivationFactor`, :class:`ConvActivationFactor`,
:class:`GradientFactor` (baselines' three, with its scalings), and
:class:`ScaleAndShiftFactor`, :class:`ParameterDiagonalFactor` (this project's
diagonal blocks).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

import numpy as np
import tensorflow as tf

from .patches import conv_activation_cov

if TYPE_CHECKING:  # pragma: no cover
    from .layers import Capture, Conv2DRecord, DenseRecord, LogStdRecord, ScaleAndShiftRecord

EIGEN_MIN = 1e-6  # baselines kfac_utils.detectMinVal: smaller eigenvalues count as 0


@dataclass(frozen=True)
class StatInputs:
    """What a factor's statistic may read for one batch.

    ``grad``: the sampled Fisher loss's gradient with respect to the factor's
    ``source`` (None when the factor does not read one); ``batch``: the size of the
    whole batch the Fisher loss averaged over (float32), which scales ``δ`` back up;
    ``subsample``: statistics from every k-th sample (:meth:`rows`).
    """

    capture: Capture
    grad: tf.Tensor | None
    batch: tf.Tensor
    subsample: int = 1

    def rows(self, t: tf.Tensor) -> tf.Tensor:
        """Every ``subsample``-th row of ``t``."""
        return t[::self.subsample] if self.subsample > 1 else t


class Factor(abc.ABC):
    """One factor's running average ``cov``.

    ``key`` is baselines' name (``<layer>/w/fprop0``, ``<layer>/w/bprop0``);
    ``layer_name`` the registered layer whose record it reads.  A plain object:
    the optimizer tracks its variables for checkpoints.
    """

    reads_gradient: ClassVar[bool] = False
    """True: :meth:`statistic` reads ``∂(Fisher loss)/∂ source(capture)``, else ``source`` itself."""
    inverse: ClassVar[str]
    """``'eigh'`` (:class:`EigenFactor`) or ``'diagonal'`` (:class:`DiagonalFactor`)."""

    def __init__(self, key: str, shape: list[int], layer_name: str) -> None:
        self.key, self.layer_name = key, layer_name
        self.cov = tf.Variable(tf.zeros(shape), trainable=False, name="KFAC_STATS/" + key)

    @abc.abstractmethod
    def source(self, capture: Capture) -> tf.Tensor | tf.Variable:
        """The tensor (or variable) whose value or Fisher-loss gradient the statistic reads."""

    @abc.abstractmethod
    def statistic(self, inputs: StatInputs) -> tf.Tensor:
        """This batch's statistic, shaped as ``cov``."""

    def accumulate(self, new: tf.Tensor, coeff: float | np.floating) -> None:
        """Superbatch phase: ``cov += coeff·C_batch``."""
        self.cov.assign_add(coeff * new)

    def running_average(self, new: tf.Tensor, decay: float | np.floating,
                        one_minus_decay: float | np.floating) -> None:
        """EMA phase: ``cov = d·cov + (1 − d)·C_batch`` (two writes, as baselines)."""
        self.cov.assign(self.cov * decay)
        self.cov.assign_add(one_minus_decay * new)


class EigenFactor(Factor):
    """A square factor ``[dim, dim]`` inverted through its eigen-decomposition:
    ``e`` and ``Q`` hold the last one (before the first, ``e = 1``, ``Q = I``)."""

    inverse = "eigh"

    def __init__(self, key: str, dim: int, layer_name: str) -> None:
        self.dim = int(dim)
        super().__init__(key, [self.dim, self.dim], layer_name)
        self.e = tf.Variable(tf.ones([self.dim]), trainable=False, name="KFAC_FAC/" + key + "/e")
        self.Q = tf.Variable(tf.eye(self.dim), trainable=False, name="KFAC_FAC/" + key + "/Q")

    def decompose(self) -> tuple[tf.Tensor, tf.Tensor]:
        """``(e, Q)`` of the current average (``tf.linalg.eigh``, float32)."""
        return tf.linalg.eigh(self.cov)

    def install(self, e: tf.Tensor | np.ndarray, q: tf.Tensor | np.ndarray) -> None:
        self.e.assign(e)
        self.Q.assign(q)

    def eigen(self) -> tuple[tf.Variable, tf.Tensor]:
        """``(Q, ê)`` with eigenvalues ``≤ 1e-6`` (negative ones too) set to 0."""
        e = self.e
        return self.Q, e * tf.cast(e > EIGEN_MIN, e.dtype)


class DiagonalFactor(Factor):
    """A diagonal factor: ``cov`` holds ``diag(F)`` shaped as its variable, and the
    inverse is ``g / (cov + damping)`` of the current average (no decomposition)."""

    inverse = "diagonal"

    def __init__(self, key: str, shape: list[int], layer_name: str) -> None:
        self.dim = 1
        for n in shape:
            self.dim *= int(n)
        super().__init__(key, [int(n) for n in shape], layer_name)

    def solve(self, grad: tf.Tensor, damping: float | np.floating) -> tf.Tensor:
        """``g ⊘ (diag(F) + damping)``."""
        return grad / (self.cov + damping)


# --------------------------------------------------------------------------- baselines'
class DenseActivationFactor(EigenFactor):
    """``A = ãᵀã / B`` of a dense layer's input, ``ã = [a, 1]`` with ``homog``."""

    def __init__(self, key: str, record: DenseRecord, homog: bool) -> None:
        super().__init__(key, int(record.inputs.shape[-1]) + homog, record.layer.layer_name)
        self.homog = bool(homog)

    def source(self, capture: Capture) -> tf.Tensor | tf.Variable:
        return cast("DenseRecord", capture[self.layer_name]).inputs

    def statistic(self, inputs: StatInputs) -> tf.Tensor:
        x = inputs.rows(self.source(inputs.capture))
        if self.homog:
            x = tf.concat([x, tf.ones([tf.shape(x)[0], 1], x.dtype)], axis=1)
        return tf.matmul(x, x, transpose_a=True) / tf.cast(tf.shape(x)[0], tf.float32)


class ConvActivationFactor(EigenFactor):
    """``A = E[p pᵀ]`` of a conv layer's patches divided by ``Oh·Ow``
    (:func:`.patches.conv_activation_cov`)."""

    def __init__(self, key: str, record: Conv2DRecord, homog: bool, approxT2: bool = False,
                 conv_stats: str = "rows") -> None:
        layer = record.layer
        kh, kw = layer.kernel
        super().__init__(key, kh * kw * int(record.inputs.shape[-1]) + homog, layer.layer_name)
        self.kernel, self.stride, self.padding = layer.kernel, layer.stride, layer.padding
        self.homog, self.approxT2, self.conv_stats = bool(homog), approxT2, conv_stats

    def source(self, capture: Capture) -> tf.Tensor | tf.Variable:
        return cast("Conv2DRecord", capture[self.layer_name]).inputs

    def statistic(self, inputs: StatInputs) -> tf.Tensor:
        return conv_activation_cov(inputs.rows(self.source(inputs.capture)), self.kernel,
                                   self.stride, self.padding, self.homog, self.approxT2,
                                   self.conv_stats)


class GradientFactor(EigenFactor):
    """``G = (B·δ)ᵀ(B·δ) / N`` of the Fisher-loss gradient ``δ`` at a layer's output.

    The Fisher loss is a mean over the batch, so ``δ`` carries a ``1/B`` that the
    factor ``B`` undoes; as in baselines, ``B`` is ``δ``'s leading dimension (1 for
    the paper variant's log-std, registered at ``[1, nact]``).  For a conv output ``δ`` is reshaped to ``[B·Oh·Ow, F]``
    and scaled by ``Oh·Ow`` first (by its spatial sum with ``approxT2``).
    """

    reads_gradient = True

    def __init__(self, key: str, record: DenseRecord | Conv2DRecord | LogStdRecord,
                 approxT2: bool = False) -> None:
        super().__init__(key, int(record.outputs.shape[-1]), record.layer.layer_name)
        self.approxT2 = approxT2

    def source(self, capture: Capture) -> tf.Tensor | tf.Variable:
        return capture[self.layer_name].outputs

    def statistic(self, inputs: StatInputs) -> tf.Tensor:
        delta = inputs.rows(inputs.grad)
        if delta.shape.rank == 4:
            oh, ow, c = int(delta.shape[1]), int(delta.shape[2]), int(delta.shape[3])
            if self.approxT2:
                delta = tf.reduce_sum(delta, axis=[1, 2])
            else:
                delta = tf.reshape(delta, [-1, c]) * oh * ow
        delta = delta * tf.cast(tf.shape(inputs.grad)[0], tf.float32)  # baselines: δ's rows
        return tf.matmul(delta, delta, transpose_a=True) / tf.cast(tf.shape(delta)[0], tf.float32)


# --------------------------------------------------------------------------- diagonal
def _per_example(t: tf.Tensor, feature_rank: int) -> tf.Tensor:
    """Sum ``t`` ``[B, ..., *features]`` over the axes between the batch and the
    trailing ``feature_rank`` feature axes (a layer's positions)."""
    axes = list(range(1, t.shape.rank - feature_rank))
    return tf.reduce_sum(t, axis=axes) if axes else t


class ScaleAndShiftFactor(DiagonalFactor):
    """``diag F`` of an elementwise ``y = x̂ ⊙ γ + β`` (kfac-jax ``ScaleAndShiftDiagonal``,
    tensorflow/kfac ``ScaleAndShiftDiagonalFB``): with the per-example gradients
    ``∂γ_n = Σ_positions B·δ_n ⊙ x̂_n`` and ``∂β_n = Σ_positions B·δ_n``, the factor of
    ``γ`` (``part='scale'``) is ``mean_n ∂γ_n²`` and that of ``β`` (``'shift'``) ``mean_n ∂β_n²``.
    Exact for the diagonal of the sampled Fisher (``tests/test_kfac_blocks.py``).
    """

    reads_gradient = True

    def __init__(self, key: str, record: ScaleAndShiftRecord, part: str) -> None:
        if part not in ("scale", "shift"):
            raise ValueError(f"part must be 'scale' or 'shift', got {part!r}")
        var = record.layer.w if part == "scale" else record.layer.b
        super().__init__(key, list(var.shape), record.layer.layer_name)
        self.part = part

    def source(self, capture: Capture) -> tf.Tensor | tf.Variable:
        return capture[self.layer_name].outputs

    def statistic(self, inputs: StatInputs) -> tf.Tensor:
        rank = len(self.cov.shape)
        delta = inputs.rows(inputs.grad) * inputs.batch  # undoes the Fisher loss's 1/B
        if self.part == "scale":
            delta = delta * inputs.rows(cast("ScaleAndShiftRecord", inputs.capture[self.layer_name]).inputs)
        per_example = _per_example(delta, rank)
        return tf.reduce_mean(tf.square(per_example), axis=0)


class ParameterDiagonalFactor(DiagonalFactor):
    """``B·(∂L_F/∂θ)²`` for a variable no registered layer owns (the opt-in
    ``diagonal_fallback``; tensorflow/kfac's ``NaiveDiagonalFB``).  ``L_F`` is the
    batch mean of the sampled Fisher loss, whose per-example gradients have mean
    zero over the sampled targets, so this is an unbiased estimate of ``diag F``
    (exact for a batch of one); ``stats_subsample`` does not apply.
    """

    reads_gradient = True

    def __init__(self, key: str, var: tf.Variable) -> None:
        super().__init__(key, list(var.shape), key)
        self.var = var

    def source(self, capture: Capture) -> tf.Tensor | tf.Variable:
        return self.var

    def statistic(self, inputs: StatInputs) -> tf.Tensor:
        return inputs.batch * tf.square(inputs.grad)
