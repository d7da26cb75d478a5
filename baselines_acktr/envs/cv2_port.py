"""Numpy ports of the two OpenCV calls Atari preprocessing makes, bit exact with OpenCV 4.

``WarpFrame`` uses OpenCV when it is installed (as baselines) and these otherwise:
``cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)`` (:func:`rgb_to_gray`) and
``cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)`` (:func:`resize_area`).
"""
import math

import numpy as np

# OpenCV 4's RGB->gray for 8-bit images is fixed point: the weights 0.299,
# 0.587, 0.114 scaled by 2**15 and rounded, then a rounding 15-bit shift.
# (OpenCV 3 used 2**14: 4899, 9617, 1868; results differ by 1 on a few pixels.)
_GRAY_SHIFT = 15
_GRAY_R, _GRAY_G, _GRAY_B = 9798, 19235, 3735


def rgb_to_gray(frame):
    """Numpy equivalent of ``cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)`` for
    uint8 ``(H, W, 3)`` RGB frames (bit exact with OpenCV 4: same fixed-point
    arithmetic)."""
    rgb = np.asarray(frame, dtype=np.int32)
    acc = rgb[..., 0] * _GRAY_R + rgb[..., 1] * _GRAY_G + rgb[..., 2] * _GRAY_B
    return ((acc + (1 << (_GRAY_SHIFT - 1))) >> _GRAY_SHIFT).astype(np.uint8)


_AREA_TABLES = {}


def _area_table(n_src, n_dst):
    """Source indices and float32 weights of each output cell for an area
    (box-filter) downsampling of ``n_src`` samples to ``n_dst``.

    Output cell ``d`` covers the source interval ``[d*s, (d+1)*s)`` with
    ``s = n_src / n_dst``; each source sample gets a weight equal to the part
    of it inside that interval divided by the interval's length (partial
    overlaps under 1e-3 are dropped), the rule OpenCV's INTER_AREA uses for
    non-integer factors.  Returns ``(index, weight)`` arrays of shape
    ``(n_dst, k)``, padded with zero weights.
    """
    key = (n_src, n_dst)
    if key in _AREA_TABLES:
        return _AREA_TABLES[key]
    s = n_src / n_dst
    cells = []
    for d in range(n_dst):
        lo = d * s
        hi = lo + s
        width = min(s, n_src - lo)
        first_full = math.ceil(lo)
        last_edge = min(math.floor(hi), n_src - 1)
        first_full = min(first_full, last_edge)
        cell = []
        if first_full - lo > 1e-3:  # partly covered sample on the left
            cell.append((first_full - 1, (first_full - lo) / width))
        for src in range(first_full, last_edge):  # fully covered samples
            cell.append((src, 1.0 / width))
        if hi - last_edge > 1e-3:  # partly covered sample on the right
            cell.append((last_edge, min(hi - last_edge, 1.0, width) / width))
        cells.append(cell)
    k = max(len(c) for c in cells)
    index = np.zeros((n_dst, k), dtype=np.intp)
    weight = np.zeros((n_dst, k), dtype=np.float32)
    for d, cell in enumerate(cells):
        for j, (src, w) in enumerate(cell):
            index[d, j] = src
            weight[d, j] = np.float32(w)
    _AREA_TABLES[key] = (index, weight)
    return index, weight


def _resize_area_integer(img, fy, fx):
    """Area downsampling by exact integer factors: block means as OpenCV's
    fast path computes them (2x2: integer sum rounded half up; otherwise the
    sum times float32 1/area, rounded half to even)."""
    h, w = img.shape[0] // fy, img.shape[1] // fx
    blocks = img[: h * fy, : w * fx].reshape((h, fy, w, fx) + img.shape[2:])
    total = blocks.astype(np.int32).sum(axis=(1, 3))
    if fy == fx == 2:
        return ((total + 2) >> 2).astype(np.uint8)
    out = total.astype(np.float32) * np.float32(1.0 / (fy * fx))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def resize_area(frame, width, height):
    """Numpy port of ``cv2.resize(frame, (width, height),
    interpolation=cv2.INTER_AREA)`` for downsampling uint8 images of shape
    ``(H, W)`` or ``(H, W, C)``.

    Follows OpenCV's computation: for non-integer factors (Atari's 210x160 ->
    84x84) a horizontal pass then a vertical pass of area weights, both
    accumulated in float32 in OpenCV's order (the zero-weight padding terms
    leave the float sums unchanged), then rounded half to even and saturated
    to uint8; for exact integer factors in both directions, OpenCV's block
    mean.  Checked bit for bit against opencv-python-headless 4.12 on Atari
    frames and random images (84x84, 84x110, 64x64, 100x200; integer factors
    2, 5, 10 and mixed 1 x 2).  Upsampling (which INTER_AREA does
    bilinearly) is not supported.
    """
    img = np.asarray(frame)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(f"resize_area expects a uint8 (H, W) or (H, W, C) array, got {img.dtype} {img.shape}")
    src_h, src_w = img.shape[:2]
    if width > src_w or height > src_h:
        raise ValueError(f"resize_area only downsamples: {src_h}x{src_w} -> {height}x{width}")
    if src_w % width == 0 and src_h % height == 0:
        return _resize_area_integer(img, src_h // height, src_w // width)
    x_idx, x_w = _area_table(src_w, width)
    y_idx, y_w = _area_table(src_h, height)
    src = img.astype(np.float32)
    extra = (1,) * (img.ndim - 2)
    # horizontal pass: rows[h, x] = sum_j src[h, x_idx[x, j]] * x_w[x, j]
    rows = np.zeros((src_h, width) + img.shape[2:], dtype=np.float32)
    for j in range(x_idx.shape[1]):
        rows += src[:, x_idx[:, j]] * x_w[:, j].reshape((1, width) + extra)
    # vertical pass: out[y, x] = sum_j rows[y_idx[y, j], x] * y_w[y, j]
    out = np.zeros((height, width) + img.shape[2:], dtype=np.float32)
    for j in range(y_idx.shape[1]):
        out += rows[y_idx[:, j]] * y_w[:, j].reshape((height, 1) + extra)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
