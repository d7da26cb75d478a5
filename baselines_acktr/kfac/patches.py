"""Activation factors of convolutions (KFC: Grosse & Martens 2016; ACKTR section 2.2).

A conv weight's activation factor is built from the patch matrix ``P``: one row
per (image, output position), one column per (kernel row, kernel column, input
channel), the order of ``tf.image.extract_patches`` and of ``W`` reshaped to
``[KH·KW·Cin, Cout]``.  Baselines extracts every patch and forms ``PᵀP``;
:func:`patch_gram_by_rows` gets the same sums without building overlapping
patches (``conv_stats='rows'``, the default; ``'patches'`` keeps baselines' route).
:func:`conv_activation_cov` applies baselines' scalings.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf


def with_homog(gram: tf.Tensor, colsum: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """``[P, 1]ᵀ[P, 1]`` from ``PᵀP``, the column sums of ``P`` and its row count."""
    top = tf.concat([gram, colsum[:, None]], axis=1)
    bottom = tf.concat([colsum, tf.reshape(count, [1])], axis=0)[None, :]
    return tf.concat([top, bottom], axis=0)


def pair_sum(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``aᵀb``."""
    return tf.matmul(a, b, transpose_a=True)


def _cell_edges(m: int, oh: int, rows: int, delta: int) -> list[int]:
    """Cell rows that lie outside some output rows' windows (the edge products)."""
    return list(range(0, m - 1 - delta)) + list(range(oh, rows - delta))


def _outside(p: int, q: int, oh: int) -> bool:
    """Whether cell row ``p`` lies outside the cells ``[q, q + oh)`` of kernel row-cell ``q``."""
    return p < q or p >= q + oh


def patch_gram_by_rows(x: tf.Tensor, kh: int, kw: int, s: int,
                       homog: bool) -> tuple[tf.Tensor, int, int]:
    """``PᵀP`` of the ``kh×kw``/stride-``s`` VALID patch matrix ``P`` of ``x`` without
    building ``P``; returns ``(gram, oh, ow)``.  Exact up to float rounding; needs
    ``kh % s == 0``.

    With ``m = kh / s``, a patch is ``m`` "row cells" stacked (cell ``r`` = the
    ``s×kw`` window of input rows ``[r·s, r·s + s)``), and output row ``o`` uses
    cells ``o … o + m − 1``.  Block ``(q, q + Δ)`` of ``PᵀP`` is therefore the sum of
    ``h(p) h(p + Δ)ᵀ`` over cell rows ``p ∈ [q, q + oh)``: one product over all
    cell rows per ``Δ``, minus a few edge rows.  For the nature CNN's convs this
    does about half the multiply-adds of ``PᵀP`` (c1: 9.2 against 16.8 GMAC for
    640 frames) and extracts patches half the size.
    """
    n = tf.shape(x)[0]
    m = kh // s
    oh = (int(x.shape[1]) - kh) // s + 1
    rows = oh + m - 1                      # cell rows used
    h = tf.image.extract_patches(x[:, :rows * s], sizes=[1, s, kw, 1],
                                 strides=[1, s, s, 1], rates=[1, 1, 1, 1], padding="VALID")
    ow, d = int(h.shape[2]), int(h.shape[3])
    flat = tf.reshape(h, [-1, d])          # (image, cell row, column) major
    length = tf.shape(flat)[0]

    def row(p: int, images: slice = slice(None)) -> tf.Tensor:
        return tf.reshape(h[images, p], [-1, d])

    blocks = {}
    for delta in range(m):
        # all pairs (i, i + delta·ow) of the flattened cells: within an image, plus
        # pairs that wrap from image k's last rows into image k + 1's first rows
        off = delta * ow
        full = pair_sum(flat[:length - off], flat[off:])
        for p in range(rows - delta, rows):
            full -= pair_sum(row(p, slice(None, -1)), row(p + delta - rows, slice(1, None)))
        edge = {p: pair_sum(row(p), row(p + delta)) for p in _cell_edges(m, oh, rows, delta)}
        for q in range(m - delta):
            blk = full
            for p, e in edge.items():
                if _outside(p, q, oh):
                    blk = blk - e
            blocks[q, q + delta] = blk
    gram = tf.concat([tf.concat([blocks[q, r] if q <= r else tf.transpose(blocks[r, q])
                                 for r in range(m)], axis=1) for q in range(m)], axis=0)
    if homog:
        total = tf.reduce_sum(flat, axis=0)
        row_sums = {p: tf.reduce_sum(row(p), axis=0) for p in _cell_edges(m, oh, rows, 0)}
        colsum = []
        for q in range(m):
            c = total
            for p, v in row_sums.items():
                if _outside(p, q, oh):
                    c = c - v
            colsum.append(c)
        gram = with_homog(gram, tf.concat(colsum, axis=0), tf.cast(n * oh * ow, tf.float32))
    return gram, oh, ow


def extract(x: tf.Tensor, kernel: tuple[int, int], stride: int, padding: str) -> tf.Tensor:
    kh, kw = kernel
    return tf.image.extract_patches(x, sizes=[1, kh, kw, 1], strides=[1, stride, stride, 1],
                                    rates=[1, 1, 1, 1], padding=padding)


def conv_activation_cov(x: tf.Tensor, kernel: tuple[int, int], stride: int, padding: str, homog: bool,
                        approxT2: bool = False, conv_stats: str = "rows") -> tf.Tensor:
    """``E[p pᵀ]`` over the batch of ``p = patches / (oh·ow)`` (plus the homogeneous
    coordinate ``1 / (oh·ow)``), as baselines' ``compute_stats`` for a conv weight.

    Without ``approxT2`` the patch products are summed first and scaled once;
    when the kernel height is a multiple of the stride and padding is VALID
    (the nature CNN) they come from :func:`patch_gram_by_rows`.  With
    ``approxT2``: ``P̄ᵀP̄ / B`` of the patches averaged over the output positions.
    """
    kh, kw = kernel
    batch = tf.cast(tf.shape(x)[0], tf.float32)
    if approxT2:
        p = tf.reduce_mean(extract(x, kernel, stride, padding), axis=[1, 2])
        if homog:
            p = tf.concat([p, tf.ones([tf.shape(p)[0], 1], p.dtype)], axis=1)
        return tf.matmul(p, p, transpose_a=True) / batch
    if conv_stats == "rows" and padding == "VALID" and kh % stride == 0:
        gram, oh, ow = patch_gram_by_rows(x, kh, kw, stride, homog)
    else:
        patches = extract(x, kernel, stride, padding)
        oh, ow = int(patches.shape[1]), int(patches.shape[2])
        p = tf.reshape(patches, [-1, int(patches.shape[-1])])
        gram = tf.matmul(p, p, transpose_a=True)
        if homog:
            gram = with_homog(gram, tf.reduce_sum(p, axis=0), tf.cast(tf.shape(p)[0], tf.float32))
    return gram * (np.float32(1.0 / (oh * ow) ** 2) / batch)
