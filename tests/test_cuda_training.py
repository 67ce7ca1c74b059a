"""The layer API on the CUDA device (a GPU, or the emulated device of the emulated build): the
textbook's MNIST CNN with dropout trains on the device and follows the CPU model step by step.

Both models start from the same seed, so they get the same initial weights, the same batch
order and the same dropout masks (Philox, bit-identical on both devices); only the float32
summation order inside the kernels differs. Adam divides by sqrt(v), which amplifies those
last-bit differences a little in the first steps, so losses are compared at rtol 1e-3 and the
weights by relative norm, as in test_cuda_paths.test_layer_api_cuda_matches_cpu.
"""
from __future__ import annotations

import numpy as np
import pytest


def _train_mnist_cnn(device, x, y, epochs):
    from cudnn_lite import backend, zoo
    previous = backend._device
    try:
        backend.set_device(device)
        backend.set_random_seed(7)
        model = zoo.build("mnist_cnn_dropout")
        from cudnn_lite.callbacks import Callback

        class Steps(Callback):
            losses = []

            def on_train_batch_end(self, batch, logs=None):
                self.losses.append(float(logs["loss"]))

        steps = Steps()
        steps.losses = []
        history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, shuffle=True,
                            callbacks=[steps])
        return model, history.history, steps.losses
    finally:
        backend._device = previous


@pytest.mark.slow
def test_mnist_cnn_trains_on_the_device_like_on_the_cpu(cp):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 96)
    # images that carry their label (a bright bar at a label-dependent row), so the loss falls
    x = rng.random((96, 28, 28, 1), dtype=np.float32) * 0.3
    for i, k in enumerate(labels):
        x[i, 2 + 2 * k:4 + 2 * k, 4:24, 0] = 1.0
    y = np.eye(10, dtype=np.float32)[labels]

    m_cpu, h_cpu, steps_cpu = _train_mnist_cnn("cpu", x, y, epochs=2)
    m_dev, h_dev, steps_dev = _train_mnist_cnn("cuda", x, y, epochs=2)

    assert m_dev.device == "cuda" and m_cpu.device == "cpu"
    for w in m_dev.weights:
        assert isinstance(w.value, cp.ndarray), f"weight {w.name} left the device: {type(w.value)}"
    assert len(steps_dev) == len(steps_cpu) == 12
    np.testing.assert_allclose(steps_dev, steps_cpu, rtol=1e-3, err_msg="running loss per step, device vs cpu")
    np.testing.assert_allclose(h_dev["loss"], h_cpu["loss"], rtol=1e-3)
    assert h_dev["loss"][-1] < h_dev["loss"][0], f"the loss did not fall: {h_dev['loss']}"
    for w, wc, wd in zip(m_dev.weights, m_cpu.get_weights(), m_dev.get_weights()):
        rel = np.linalg.norm(wd - wc) / max(np.linalg.norm(wc), 1e-12)
        assert rel < 1e-3, f"weight {w.name}: |device - cpu| / |cpu| = {rel:.3g} after 12 steps"
    np.testing.assert_allclose(m_dev.predict(x[:32], verbose=0), m_cpu.predict(x[:32], verbose=0),
                               rtol=1e-2, atol=1e-4)
