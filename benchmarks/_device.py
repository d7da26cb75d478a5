"""The device line every benchmark prints first (they run unchanged where TF sees a GPU)."""
import os


def device_line():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"device: {'GPU ' + gpus[0].name if gpus else 'CPU'} ({os.cpu_count()} CPUs)"
