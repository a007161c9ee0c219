"""The lab's models in Keras (TensorFlow CPU), on the same IDX files convlab reads.

Prints one JSON line: samples/s of training (per epoch, after the first epoch's tracing) and the
test accuracy after the given epochs. Used by scripts/bench-cpu.sh for the side-by-side table.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


# Filters of each conv block (3x3, ReLU, then 2x2 max pooling), per preset.
CONV_FILTERS = {"dnn": [], "cnn": [32, 32], "cnn-16": [16, 16], "cnn-64": [64, 64]}


def model_for(preset, keras):
    layers = keras.layers
    convs = CONV_FILTERS[preset]
    stack = [keras.Input((28, 28, 1))]
    for filters in convs:
        stack += [layers.Conv2D(filters, (3, 3), activation="relu"), layers.MaxPooling2D(2, 2)]
    stack += [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")]
    return keras.models.Sequential(stack)


def parse_args():
    """The options every framework's script takes, as scripts/bench-cpu.sh passes them."""
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--preset", default="cnn")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, default=60000)
    return p.parse_args()


def report(args, framework, times, samples, test_accuracy, test_loss, threads):
    """Prints the one JSON line scripts/bench-cpu.sh reads, for any framework."""
    print(json.dumps({
        "framework": framework,
        "preset": args.preset,
        "batch_size": args.batch_size,
        "epoch_seconds": times,
        "samples_per_second": [samples / t for t in times],
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "threads": threads,
    }))


def main():
    args = parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import keras

    tf.keras.utils.set_random_seed(42)
    x = read_idx(f"{args.data}/train-images-idx3-ubyte.gz")[: args.limit] / 255.0
    y = read_idx(f"{args.data}/train-labels-idx1-ubyte.gz")[: args.limit]
    xt = read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz") / 255.0
    yt = read_idx(f"{args.data}/t10k-labels-idx1-ubyte.gz")
    x, xt = x[..., None].astype("float32"), xt[..., None].astype("float32")

    model = model_for(args.preset, keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0, callbacks=[Timer()])
    loss, acc = model.evaluate(xt, yt, verbose=0)
    framework = f"keras {keras.__version__} / tensorflow {tf.__version__}"
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    report(args, framework, times, len(x), acc, loss, threads)


if __name__ == "__main__":
    main()
