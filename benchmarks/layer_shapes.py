"""The textbook networks' layer shapes, shared by bench_ops.py (CPU) and bench_cuda.py (GPU)."""

# (layer, h, w, c, kernel, filters, fused activation in the network's layer)
CONV_LAYERS = [
    ("mnist_cnn conv1", 28, 28, 1, 3, 32, "relu"),
    ("mnist_cnn conv2", 14, 14, 32, 3, 64, "relu"),
    ("cifar10_cnn conv1", 32, 32, 3, 2, 16, "relu"),
    ("cifar10_cnn conv2", 16, 16, 16, 2, 32, "relu"),
    ("cifar10_cnn conv3", 8, 8, 32, 2, 64, "relu"),
    ("cifar10_improved conv1", 32, 32, 3, 3, 32, "linear"),
    ("cifar10_improved conv2", 32, 32, 32, 3, 32, "linear"),
    ("cifar10_improved conv3", 16, 16, 32, 3, 64, "linear"),
    ("cifar10_improved conv4", 16, 16, 64, 3, 64, "linear"),
    ("cifar10_improved conv5", 8, 8, 64, 3, 128, "linear"),
    ("cifar10_improved conv6", 8, 8, 128, 3, 128, "linear"),
]
# inputs of the 2x2 max-pools (layer, h, w, c)
POOL_LAYERS = [
    ("mnist_cnn pool1", 28, 28, 32), ("mnist_cnn pool2", 14, 14, 64),
    ("cifar10_cnn pool1", 32, 32, 16), ("cifar10_cnn pool2", 16, 16, 32),
    ("cifar10_cnn pool3", 8, 8, 64),
    ("cifar10_improved pool1", 32, 32, 32), ("cifar10_improved pool2", 16, 16, 64),
    ("cifar10_improved pool3", 8, 8, 128),
]
# (layer, in, out, activation)
DENSE_LAYERS = [
    ("mnist_mlp dense1", 784, 512, "relu"), ("mnist_mlp dense2", 512, 512, "relu"),
    ("mnist_mlp dense3", 512, 10, "linear"),
    ("mnist_cnn dense1", 3136, 64, "relu"), ("mnist_cnn dense2", 64, 10, "linear"),
    ("cifar10_cnn dense1", 1024, 500, "relu"), ("cifar10_cnn dense2", 500, 10, "linear"),
    ("cifar10_improved dense", 2048, 10, "linear"),
]
# batch-norm inputs of cifar10_improved (layer, h, w, c)
BN_LAYERS = [("cifar10_improved bn1-2", 32, 32, 32), ("cifar10_improved bn3-4", 16, 16, 64),
             ("cifar10_improved bn5-6", 8, 8, 128)]
# dropout inputs (layer, per-sample shape, rate)
DROPOUT_LAYERS = [
    ("mnist_cnn_dropout drop1", (3136,), 0.3), ("mnist_cnn_dropout drop2", (64,), 0.5),
    ("cifar10_cnn drop1", (1024,), 0.3), ("cifar10_cnn drop2", (500,), 0.4),
    ("cifar10_improved drop1", (16, 16, 32), 0.2), ("cifar10_improved drop2", (8, 8, 64), 0.3),
    ("cifar10_improved drop3", (4, 4, 128), 0.4),
]
# every trainable weight of a network (Adam updates them all each step)
PARAM_SHAPES = {
    "mnist_mlp": [(784, 512), (512,), (512, 512), (512,), (512, 10), (10,)],
    "mnist_cnn": [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (3136, 64), (64,), (64, 10), (10,)],
    "cifar10_cnn": [(2, 2, 3, 16), (16,), (2, 2, 16, 32), (32,), (2, 2, 32, 64), (64,),
                    (1024, 500), (500,), (500, 10), (10,)],
    "cifar10_improved": (
        [s for c_in, c_out in ((3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128))
         for s in ((3, 3, c_in, c_out), (c_out,), (c_out,), (c_out,))]
        + [(2048, 10), (10,)]),
}
