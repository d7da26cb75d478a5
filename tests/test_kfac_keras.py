"""K-FAC on a plain Keras model (kfac/keras.py) and the digits example."""
import csv
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.kfac import Capture, KfacOptimizer
from baselines_acktr.kfac.blocks import KroneckerBlock, ScaleAndShiftBlock
from baselines_acktr.kfac.keras import KerasKfacModel

REPO = Path(__file__).resolve().parents[1]


def conv_model(**conv):
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu", **conv),
        keras.layers.Flatten(), keras.layers.Dense(6, activation="tanh"),
        keras.layers.LayerNormalization(), keras.layers.Dropout(0.5), keras.layers.Dense(3)])


def test_keras_layers_are_registered_and_outputs_unchanged():
    model = conv_model(padding="same", strides=2)
    net = KerasKfacModel(model)
    x = tf.constant(np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32))
    capture = Capture()
    np.testing.assert_allclose(net(x, capture).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert [type(r).__name__ for r in capture] == ["Conv2DRecord", "DenseRecord",
                                                   "ScaleAndShiftRecord", "DenseRecord"]
    optim = KfacOptimizer()
    optim.build(net.params, capture)
    assert [type(b).__name__ for b in optim.blocks] == ["KroneckerBlock", "KroneckerBlock",
                                                        "ScaleAndShiftBlock", "KroneckerBlock"]
    # every Keras variable is in a block: biases folded in homogeneous coordinates
    assert sorted(i for b in optim.blocks for i in b.indices) == list(range(len(net.params)))
    assert all(len(b.indices) == 2 for b in optim.blocks if isinstance(b, KroneckerBlock))
    assert any(isinstance(b, ScaleAndShiftBlock) for b in optim.blocks)
    assert [v.name for v in net.params] == [v.value.name for v in model.trainable_variables]


def test_keras_models_it_cannot_register_are_refused_in_one_line():
    with pytest.raises(TypeError, match="takes a keras.Sequential"):
        KerasKfacModel(keras.Model())
    with pytest.raises(ValueError, match="build the model first"):
        KerasKfacModel(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="equal strides, no dilation"):
        KerasKfacModel(conv_model(dilation_rate=2))


@pytest.mark.slow
def test_digits_example_kfac_beats_sgd_at_equal_iterations(tmp_path):
    out = tmp_path / "digits"
    subprocess.run([sys.executable, str(REPO / "examples" / "kfac_keras_digits.py"),
                    "--iterations", "200", "--eval_every", "100", "--optimizers", "kfac", "sgd",
                    "--out", str(out)], check=True, cwd=tmp_path, timeout=600)
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    final = {r["optimizer"]: float(r["train_loss"]) for r in rows if r["iteration"] == "200"}
    start = {r["optimizer"]: float(r["train_loss"]) for r in rows if r["iteration"] == "0"}
    assert start["kfac"] == start["sgd"]  # the same initial weights
    assert final["kfac"] < final["sgd"], final
    assert (out / "loss.png").stat().st_size > 10_000
