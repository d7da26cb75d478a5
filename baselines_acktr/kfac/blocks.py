"""Curvature blocks: how each trainable variable's gradient is preconditioned.

A block owns some variables of ``var_list`` and the factors it reads, and returns
its piece of ``F̂⁻¹g`` (baselines ``getKfacPrecondUpdates``; paper section 2.2:
``(A ⊗ S)⁻¹ vec(∇W) = vec(A⁻¹ ∇W S⁻¹)``, with damping).  :class:`CurvatureBlock`
is the contract; a new block is one subclass and one :func:`register_block` entry
from the layer record type it serves (``docs/kfac_library.md`` shows one):

* :class:`KroneckerBlock` — a weight with an activation factor ``A`` and a
  gradient factor ``G``; a bias added with ``bias_add`` is folded in through
  homogeneous coordinates (``[∇W; ∇b]``, the last row of the result is the
  bias direction) unless ``blockdiag_bias``;
* :class:`GradientOnlyBlock` — ``G`` alone: a bias added with ``+`` (it shares
  its weight's ``G``, as baselines' ``AddN`` path ends up reusing that
  variable) and ``pi/logstd`` (taken at ``0·μ + logstd``);
* :class:`ScaleAndShiftBlock` — the diagonal Fisher of a normalisation layer's
  ``γ`` and ``β``;
* :class:`DiagonalBlock` — a variable no layer registered, with the opt-in
  ``diagonal_fallback``; :class:`IdentityBlock` — such a variable by default
  (baselines): its raw gradient.

Fully connected layers that read the same input tensor share one ``A``
(baselines' factor cache: ``pi`` and ``vf`` on the shared trunk).
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import tensorflow as tf

from .config import KfacConfig
from .factors import (ConvActivationFactor, DenseActivationFactor, DiagonalFactor, EigenFactor,
                      Factor, GradientFactor, ParameterDiagonalFactor, ScaleAndShiftFactor)
from .layers import (Capture, Conv2DRecord, DenseRecord, LogStdRecord, Record,
                     ScaleAndShiftRecord)


class CurvatureBlock(abc.ABC):
    """The contract of a block: the checklist for a new one.

    * :attr:`indices` — the positions in ``var_list`` it preconditions (every
      variable is in exactly one block);
    * :attr:`factors` — the factors it reads (created through the builder, which
      collects the statistics they need and, for :class:`~.factors.EigenFactor` s,
      schedules their decompositions);
    * :meth:`precondition` — its piece of ``F̂⁻¹g``;
    * :meth:`build` — its blocks from one layer record (what the registry calls).
    """

    indices: tuple[int, ...]
    factors: tuple[Factor, ...]

    @classmethod
    def build(cls, builder: BlockBuilder, record: Any) -> list[CurvatureBlock]:
        """The blocks of one registered layer (only for blocks in the registry)."""
        raise NotImplementedError(f"{cls.__name__} is not built from a layer record")

    @abc.abstractmethod
    def precondition(self, grads: Sequence[tf.Tensor]) -> dict[int, tf.Tensor]:
        """``{index: (F̂⁻¹g) of var_list[index]}`` for :attr:`indices`, each shaped as its
        variable; ``grads`` is the whole gradient list."""

    def factors_of(self, index: int) -> tuple[EigenFactor | None, EigenFactor | None]:
        """``(A, G)`` of variable ``index`` where the block has Kronecker factors."""
        return None, None


# --------------------------------------------------------------------------- registry
BLOCKS: dict[type, type[CurvatureBlock]] = {}
"""Layer record type → the block class whose :meth:`~CurvatureBlock.build` serves it."""

Damping = float | np.floating
"""A variable's ``ε`` (plus weight decay): ``np.float32`` as baselines' TF1 graph rounded it."""

B = TypeVar("B", bound=type[CurvatureBlock])
F = TypeVar("F", bound=Factor)


def register_block(record_type: type) -> Callable[[B], B]:
    """Class decorator: ``record_type`` records are built into this block class."""
    def add(block_cls: B) -> B:
        if record_type in BLOCKS:
            raise ValueError(f"{record_type.__name__} already has block {BLOCKS[record_type].__name__}")
        BLOCKS[record_type] = block_cls
        return block_cls
    return add


# --------------------------------------------------------------------------- blocks
class IdentityBlock(CurvatureBlock):
    """No curvature: the direction is the raw gradient."""

    def __init__(self, index: int) -> None:
        self.indices, self.factors = (index,), ()

    def precondition(self, grads: Sequence[tf.Tensor]) -> dict[int, tf.Tensor]:
        return {self.indices[0]: grads[self.indices[0]]}


class DiagonalBlock(CurvatureBlock):
    """``g ⊘ (diag F + ε)`` with a :class:`~.factors.ParameterDiagonalFactor`."""

    def __init__(self, index: int, factor: DiagonalFactor, damping: Damping) -> None:
        self.indices, self.factors, self.damping = (index,), (factor,), damping
        self.diag = factor

    def precondition(self, grads: Sequence[tf.Tensor]) -> dict[int, tf.Tensor]:
        i = self.indices[0]
        return {i: self.diag.solve(grads[i], self.damping)}


@register_block(LogStdRecord)
class GradientOnlyBlock(CurvatureBlock):
    """``Γ' = [(Γ·Q_G) ⊘ (ê_Gᵀ + ε)]·Q_Gᵀ`` with ``Γ`` the gradient as one row."""

    def __init__(self, index: int, var: tf.Variable, g: EigenFactor, damping: Damping) -> None:
        self.indices, self.factors = (index,), (g,)
        self.var, self.g, self.damping = var, g, damping

    @classmethod
    def build(cls, builder: BlockBuilder, record: LogStdRecord) -> list[CurvatureBlock]:
        layer = record.layer
        i = builder.index(layer.w, layer.layer_name)
        g = builder.add(GradientFactor(f"{layer.layer_name}/bprop0", record,
                                       builder.config.approxT2))
        return [cls(i, layer.w, g, builder.damping[i])]

    def factors_of(self, index: int) -> tuple[EigenFactor | None, EigenFactor | None]:
        return None, self.g

    def precondition(self, grads: Sequence[tf.Tensor]) -> dict[int, tf.Tensor]:
        i = self.indices[0]
        qg, eg = self.g.eigen()
        t = tf.matmul(tf.reshape(grads[i], [1, -1]), qg) / (eg[None, :] + self.damping)
        return {i: tf.reshape(tf.matmul(t, qg, transpose_b=True), self.var.shape)}


@register_block(DenseRecord)
@register_block(Conv2DRecord)
class KroneckerBlock(CurvatureBlock):
    """``Γ' = Q_A·[(Q_Aᵀ·Γ·Q_G) ⊘ (ê_A·ê_Gᵀ + ε)]·Q_Gᵀ`` for a weight (a conv kernel as
    ``[KH·KW·Cin, Cout]``), with an optional folded bias as the last row of ``Γ``.

    ``factored_damping``: the denominator is ``(ê_A + π√ε)(ê_G + √ε/π)ᵀ`` with
    ``π = sqrt(mean|ê_A| / mean|ê_G|)`` (Martens & Grosse 2015, section 6.3).
    """

    def __init__(self, index: int, var: tf.Variable, a: EigenFactor, g: EigenFactor,
                 damping: Damping, bias: tuple[int, tf.Variable] | None = None,
                 factored_damping: bool = False) -> None:
        self.var, self.a, self.g, self.damping = var, a, g, damping
        self.bias = bias  # (index, variable) of a folded bias, or None
        self.indices = (index,) if bias is None else (index, bias[0])
        self.factors = (a, g)
        self.factored_damping = factored_damping

    @classmethod
    def build(cls, builder: BlockBuilder, record: DenseRecord | Conv2DRecord) -> list[CurvatureBlock]:
        """A weight's block in baselines' factor order (``A``, then ``G``); a bias added
        with ``+`` gets a :class:`GradientOnlyBlock` on the same ``G``."""
        layer, cfg = record.layer, builder.config
        has_bias = getattr(layer, "b", None) is not None
        homog = has_bias and layer.bias_mode == "bias_add" and not cfg.blockdiag_bias
        wi = builder.index(layer.w, layer.layer_name)
        key = f"{layer.layer_name}/w/fprop0"
        a: EigenFactor
        if isinstance(record, DenseRecord):
            a = builder.shared((id(record.inputs), homog),
                               lambda: DenseActivationFactor(key, record, homog))
        else:
            a = builder.add(ConvActivationFactor(key, record, homog, cfg.approxT2, cfg.conv_stats))
        g = builder.add(GradientFactor(f"{layer.layer_name}/w/bprop0", record, cfg.approxT2))
        blocks: list[CurvatureBlock] = []
        bias = None
        if has_bias:
            bi = builder.index(layer.b, layer.layer_name)
            if homog:
                bias = (bi, layer.b)
            else:
                blocks.append(GradientOnlyBlock(bi, layer.b, g, builder.damping[bi]))
        return [cls(wi, layer.w, a, g, builder.damping[wi], bias, cfg.factored_damping)] + blocks

    def factors_of(self, index: int) -> tuple[EigenFactor | None, EigenFactor | None]:
        if index == self.indices[0]:
            return self.a, self.g
        return None, None  # the folded bias has no factors of its own

    def _denominator(self, ea: tf.Tensor, eg: tf.Tensor) -> tf.Tensor:
        if not self.factored_damping:
            return ea[:, None] * eg[None, :] + self.damping
        d = tf.pow(tf.constant(self.damping), 0.5)
        ta, tg = tf.reduce_mean(tf.abs(ea)), tf.reduce_mean(tf.abs(eg))
        return (ea[:, None] + tf.sqrt(ta / tg) * d) * (eg[None, :] + tf.sqrt(tg / ta) * d)

    def precondition(self, grads: Sequence[tf.Tensor]) -> dict[int, tf.Tensor]:
        i = self.indices[0]
        g2 = tf.reshape(grads[i], [-1, int(self.var.shape[-1])])
        if self.bias is not None:
            g2 = tf.concat([g2, grads[self.bias[0]][None, :]], axis=0)
        qa, ea = self.a.eigen()
        qg, eg = self.g.eigen()
        t = tf.matmul(tf.matmul(qa, g2, transpose_a=True), qg)
        t = t / self._denominator(ea, eg)
        t = tf.matmul(tf.matmul(qa, t), qg, transpose_b=True)
        out = {}
        if self.bias is not None:
            bi, bias = self.bias
            out[bi] = tf.reshape(t[-1:], bias.shape)
            t = t[:-1]
        out[i] = tf.reshape(t, self.var.shape)
        return out


@register_block(ScaleAndShiftRecord)
class ScaleAndShiftBlock(CurvatureBlock):
    """``∂γ ⊘ (diag F_γ + ε)`` and ``∂β ⊘ (diag F_β + ε)``: the diagonal of the Fisher of a
    normalisation layer's affine part (kfac-jax ``ScaleAndShiftDiagonal``)."""

    def __init__(self, scale: tuple[int, ScaleAndShiftFactor, Damping],
                 shift: tuple[int, ScaleAndShiftFactor, Damping]) -> None:
        self.parts = (scale, shift)
        self.indices = (scale[0], shift[0])
        self.factors = (scale[1], shift[1])

    @classmethod
    def build(cls, builder: BlockBuilder, record: ScaleAndShiftRecord) -> list[CurvatureBlock]:
        layer = record.layer
        parts = []
        for part, var in (("scale", layer.w), ("shift", layer.b)):
            i = builder.index(var, layer.layer_name)
            f = builder.add(ScaleAndShiftFactor(f"{layer.layer_name}/{part}/diag", record, part))
            parts.append((i, f, builder.damping[i]))
        return [cls(parts[0], parts[1])]

    def precondition(self, grads: Sequence[tf.Tensor]) -> dict[int, tf.Tensor]:
        return {i: f.solve(grads[i], damping) for i, f, damping in self.parts}


# --------------------------------------------------------------------------- building
class BlockBuilder:
    """What a block's :meth:`~CurvatureBlock.build` may use: variable positions, the
    damping of each, the config, and the factor list (in creation order: baselines'
    order, per layer ``A`` then ``G``)."""

    def __init__(self, var_list: Sequence[tf.Variable], config: KfacConfig,
                 damping: Sequence[Damping]) -> None:
        self.var_list, self.config, self.damping = list(var_list), config, list(damping)
        self._index = {id(v): i for i, v in enumerate(var_list)}
        self.factors: list[Factor] = []
        self._shared: dict[Any, Factor] = {}

    def index(self, var: tf.Variable, layer_name: str) -> int:
        """``var``'s position in ``var_list``."""
        if id(var) not in self._index:
            raise ValueError(f"variable {var.name} of layer {layer_name} is not in var_list")
        return self._index[id(var)]

    def add(self, factor: F) -> F:
        """A new factor (its statistics are then computed every step)."""
        self.factors.append(factor)
        return factor

    def shared(self, key: Any, make: Callable[[], F]) -> F:
        """The factor created under ``key`` before, or a new one from ``make()``."""
        if key not in self._shared:
            self._shared[key] = self.add(make())
        return self._shared[key]  # type: ignore[return-value]


def build_blocks(var_list: Sequence[tf.Variable], capture: Capture, config: KfacConfig,
                 damping: Sequence[Damping]) -> tuple[list[Factor], list[CurvatureBlock]]:
    """``(factors, blocks)`` for ``var_list`` from the records of one forward pass,
    through the :data:`BLOCKS` registry; ``damping[i]`` is variable ``i``'s ``ε`` plus
    its weight decay.  A variable no layer owns gets an :class:`IdentityBlock`, or a
    :class:`DiagonalBlock` with ``config.diagonal_fallback``."""
    builder = BlockBuilder(var_list, config, damping)
    blocks: list[CurvatureBlock] = []
    for record in capture:
        block_cls = BLOCKS.get(type(record))
        if block_cls is None:
            raise TypeError(f"no curvature block registered for {type(record).__name__}")
        blocks.extend(block_cls.build(builder, record))
    covered = [i for blk in blocks for i in blk.indices]
    if len(covered) != len(set(covered)):
        raise ValueError("a variable is in two curvature blocks")
    for i, var in enumerate(builder.var_list):
        if i in covered:
            continue
        if config.diagonal_fallback:
            name = var.name.split(":")[0]
            blocks.append(DiagonalBlock(i, builder.add(ParameterDiagonalFactor(name + "/diag", var)),
                                        builder.damping[i]))
        else:
            blocks.append(IdentityBlock(i))
    return builder.factors, blocks


def damping_of(var: tf.Variable, epsilon: float, weight_decay_dict: dict[Any, float]) -> np.float32:
    """``float32(ε + weight decay of var)``; ``weight_decay_dict`` keys are variable
    names or ``var.ref()`` (baselines keyed it by variable)."""
    name = var.name.split(":")[0]
    coeff = 0.0
    for key, value in weight_decay_dict.items():
        if (isinstance(key, str) and key == name) or key is var or \
                (hasattr(key, "deref") and key.deref() is var):
            coeff = value
            break
    return np.float32(epsilon + coeff)


__all__ = ["BLOCKS", "BlockBuilder", "CurvatureBlock", "DiagonalBlock", "GradientOnlyBlock",
           "IdentityBlock", "KroneckerBlock", "Record", "ScaleAndShiftBlock", "build_blocks",
           "damping_of", "register_block"]
