"""The textbook recipes in PyTorch, made to match cudnn_lite.zoo (Keras) as closely as torch allows.

    import torch, torch_recipes
    net = torch_recipes.build("blobs_mlp", torch, seed=0)   # a TorchRecipe
    loss, acc = net.train_batch(xb, yb)                     # NumPy batch in, floats out
    loss, acc = net.evaluate(x, y, batch_size=128)          # inference mode, Keras's loss

What matches cudnn_lite / Keras:

- architecture: the five image networks come from torch_models.py (Keras 'same'
  padding with the extra cell right/bottom for even kernels, channels-last
  Flatten order, BatchNorm eps 1e-3 and momentum 0.99 = torch 0.01); the three
  small ones (perceptron, xor_mlp, blobs_mlp) are defined here;
- initialisation: glorot_uniform kernels (torch's xavier_uniform_ uses the same
  fan_in/fan_out for Linear and Conv2d) and zero biases, seeded by torch.manual_seed;
- optimizers: Keras 3's update rules, written below with torch._foreach ops
  (KerasAdam: lr_t = lr sqrt(1-b2^t)/(1-b1^t), w -= lr_t m / (sqrt(v) + eps);
  KerasRMSprop: w -= lr g / sqrt(v + eps), eps INSIDE the root, unlike torch's
  RMSprop); epsilon 1e-7; Keras 2 ``decay``: lr / (1 + decay * iterations);
  SGD is torch's (same rule without momentum);
- losses: softmax + categorical cross-entropy as one op on the logits (the
  gradient (p - t)/n that cudnn_lite's fused path uses); the reported loss is
  Keras's (probabilities clipped to [1e-7, 1 - 1e-7]); binary cross-entropy and
  MSE on the clipped sigmoid / raw output, as Keras computes them; the step
  activation has a zero gradient (as in cudnn_lite, so the perceptron never learns);
- L2 (kernel_regularizer=l2(1e-4) in cifar10_improved): an explicit
  ``l2 * sum(w^2)`` term in the loss (reported loss includes it, as Keras's does);
- metrics: Keras's 'accuracy' (argmax match for one-hot targets, threshold 0.5
  for one output unit), averaged over the epoch's training batches.

What differs (stated, not hidden): dropout masks come from torch's generator
(same rates); torch's BatchNorm running variance uses the unbiased batch
variance (Keras: biased); the initial weights are drawn from torch's RNG, so a
given seed does not give the same starting point as cudnn_lite's.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, List, Optional, Tuple

import numpy as np

import torch_models

LOSS_EPS = 1e-7
# Keras's float32 clip bounds
_HI = float(np.float32(1) - np.float32(LOSS_EPS))
_LO = float(np.float32(LOSS_EPS))


# ------------------------------------------------------------------ optimizers

def _optimizer_classes(torch):
    class KerasAdam(torch.optim.Optimizer):
        """Keras 3 Adam (with Keras 2's ``decay``), foreach over the parameters."""

        def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0):
            super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                          decay=decay))
            self.iterations = 0

        @torch.no_grad()
        def step(self, closure=None):
            t = self.iterations + 1
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if not params:
                    continue
                grads = [p.grad for p in params]
                for p in params:
                    if not self.state[p]:
                        self.state[p]["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                        self.state[p]["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                ms = [self.state[p]["m"] for p in params]
                vs = [self.state[p]["v"] for p in params]
                b1, b2, eps = group["beta_1"], group["beta_2"], group["epsilon"]
                lr = group["lr"] / (1.0 + group["decay"] * self.iterations)
                alpha = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
                torch._foreach_lerp_(ms, grads, 1.0 - b1)            # m += (g - m)(1 - b1)
                torch._foreach_mul_(vs, b2)
                torch._foreach_addcmul_(vs, grads, grads, 1.0 - b2)  # v = b2 v + (1 - b2) g^2
                denom = torch._foreach_sqrt(vs)
                torch._foreach_add_(denom, eps)
                torch._foreach_addcdiv_(params, ms, denom, -alpha)
            self.iterations = t

    class KerasRMSprop(torch.optim.Optimizer):
        """Keras 3 RMSprop (no momentum, not centred): w -= lr g / sqrt(v + eps)."""

        def __init__(self, params, lr=1e-3, rho=0.9, epsilon=1e-7, decay=0.0):
            super().__init__(params, dict(lr=lr, rho=rho, epsilon=epsilon, decay=decay))
            self.iterations = 0

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if not params:
                    continue
                grads = [p.grad for p in params]
                for p in params:
                    if not self.state[p]:
                        self.state[p]["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                vs = [self.state[p]["v"] for p in params]
                rho, eps = group["rho"], group["epsilon"]
                lr = group["lr"] / (1.0 + group["decay"] * self.iterations)
                torch._foreach_mul_(vs, rho)
                torch._foreach_addcmul_(vs, grads, grads, 1.0 - rho)
                denom = torch._foreach_add(vs, eps)
                torch._foreach_sqrt_(denom)
                torch._foreach_addcdiv_(params, grads, denom, -lr)
            self.iterations += 1

    return KerasAdam, KerasRMSprop


# ------------------------------------------------------------------ networks

def _small_modules(torch):
    nn = torch.nn

    class StepFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x >= 0).to(x.dtype)

        @staticmethod
        def backward(ctx, g):
            return torch.zeros_like(g)

    class Step(nn.Module):
        def forward(self, x):
            return StepFn.apply(x)

    return {
        "perceptron": lambda: nn.Sequential(nn.Linear(2, 1), Step()),
        "xor_mlp": lambda: nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)),
        "blobs_mlp": lambda: nn.Sequential(nn.Linear(2, 25), nn.ReLU(), nn.Linear(25, 3)),
    }


# recipe: (output, loss, optimizer factory text); output: how the last layer's value becomes
# the prediction: 'softmax' (logits), 'sigmoid' (logit), 'identity' (already the prediction)
_RECIPES = {
    "perceptron": ("identity", "mse", "sgd", dict(lr=0.1)),
    "xor_mlp": ("sigmoid", "binary_crossentropy", "adam", dict(lr=0.05)),
    "blobs_mlp": ("softmax", "categorical_crossentropy", "adam", dict(lr=1e-3)),
    "mnist_mlp": ("softmax", "categorical_crossentropy", "adam", dict(lr=1e-3)),
    "mnist_cnn": ("softmax", "categorical_crossentropy", "adam", dict(lr=1e-3)),
    "mnist_cnn_dropout": ("softmax", "categorical_crossentropy", "adam", dict(lr=1e-3)),
    "cifar10_cnn": ("softmax", "categorical_crossentropy", "rmsprop", dict(lr=1e-3)),
    "cifar10_improved": ("softmax", "categorical_crossentropy", "adam", dict(lr=1e-4, decay=1e-6)),
}
NAMES = list(_RECIPES)
L2_CONV_KERNELS = {"cifar10_improved": 1e-4}   # Keras kernel_regularizer=l2(1e-4) on every conv


@dataclasses.dataclass
class TorchRecipe:
    name: str
    torch: object
    module: object
    optimizer: object
    optimizer_text: str
    output: str
    loss: str
    l2: List[Tuple[object, float]]
    channels_last: bool
    device: str
    params: int

    # ---------------------------------------------------------------- data
    def to_input(self, x):
        t = self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if t.dim() == 4:
            t = t.permute(0, 3, 1, 2)  # NCHW shape; channels_last strides (no copy)
            if not self.channels_last:
                t = t.contiguous()
        return t.to(self.device, non_blocking=True) if self.device != "cpu" else t

    def _targets(self, y):
        torch = self.torch
        y = np.ascontiguousarray(y, dtype=np.float32)
        t = torch.from_numpy(y)
        if self.device != "cpu":
            t = t.to(self.device)
        labels = t.argmax(dim=1) if self.output == "softmax" else None
        return t, labels

    # ---------------------------------------------------------------- loss
    def _per_sample(self, out, t, labels):
        """(per-sample loss to differentiate, per-sample loss as Keras reports it, prediction)."""
        torch, F = self.torch, self.torch.nn.functional
        if self.output == "softmax":
            ce = F.cross_entropy(out, labels, reduction="none")
            # Keras clips p to [eps, 1 - eps]: -log p lies in [-log(1 - eps), -log(eps)]
            reported = ce.clamp(min=-math.log(_HI), max=-math.log(_LO))
            return ce, reported, out
        pred = torch.sigmoid(out) if self.output == "sigmoid" else out
        if self.loss == "binary_crossentropy":
            q = pred.clamp(_LO, _HI)
            per = -(t * torch.log(q) + (1 - t) * torch.log(1 - q)).mean(dim=1)
        elif self.loss == "mse":
            per = ((pred - t) ** 2).mean(dim=1)
        else:
            raise ValueError(f"loss {self.loss!r} is not in these recipes")
        return per, per, pred

    def _correct(self, pred, t, labels):
        if self.output == "softmax":
            return (pred.argmax(dim=1) == labels).sum()
        return ((pred > 0.5).to(t.dtype) == t).to(t.dtype).mean(dim=1).sum()

    def _reg(self):
        if not self.l2:
            return None
        return sum(c * (w * w).sum() for w, c in self.l2)

    # ---------------------------------------------------------------- steps
    def train_batch(self, xb, yb):
        """One optimizer step; returns (sum of reported losses incl. L2, sum of correct) as tensors."""
        torch = self.torch
        self.module.train()
        x = self.to_input(xb)
        t, labels = self._targets(yb)
        self.optimizer.zero_grad(set_to_none=True)
        out = self.module(x)
        per, reported, pred = self._per_sample(out, t, labels)
        loss = per.mean()
        reg = self._reg()
        if reg is not None:
            loss = loss + reg
        loss.backward()
        self.optimizer.step()
        n = x.shape[0]
        with torch.no_grad():
            total = reported.detach().sum() + (reg.detach() * n if reg is not None else 0.0)
            correct = self._correct(pred.detach(), t, labels)
        return total, correct

    def evaluate(self, x, y, batch_size):
        """(mean loss incl. L2, accuracy) in inference mode over arrays x, y."""
        torch = self.torch
        self.module.eval()
        total = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.float64)
        n = len(x)
        with torch.inference_mode():
            reg = self._reg()
            for i in range(0, n, batch_size):
                xb = self.to_input(x[i:i + batch_size])
                t, labels = self._targets(y[i:i + batch_size])
                out = self.module(xb)
                _, reported, pred = self._per_sample(out, t, labels)
                total += reported.sum().double().cpu()
                correct += self._correct(pred, t, labels).double().cpu()
            if reg is not None:
                total += float(reg) * n
        return float(total) / n, float(correct) / n


def _init_keras(torch, module):
    """glorot_uniform kernels, zero biases (Keras's defaults for Dense and Conv2D)."""
    for m in module.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            torch.nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)


def build(name, torch, seed=0, device="cpu", channels_last=True) -> TorchRecipe:
    """The recipe ``name`` in torch: module (train mode), Keras-rule optimizer, loss."""
    if name not in _RECIPES:
        raise ValueError(f"unknown network {name!r}; expected one of {NAMES}")
    output, loss, opt_kind, opt_kw = _RECIPES[name]
    torch.manual_seed(seed)
    if name in torch_models.NAMES:
        module = torch_models.build(name, torch, channels_last=channels_last, seed=seed).module
    else:
        module = _small_modules(torch)[name]()
        channels_last = False
    torch.manual_seed(seed)
    _init_keras(torch, module)
    if device != "cpu":
        module = module.to(device)
    module.train()
    KerasAdam, KerasRMSprop = _optimizer_classes(torch)
    params = list(module.parameters())
    if opt_kind == "adam":
        opt = KerasAdam(params, epsilon=1e-7, **opt_kw)
        text = "KerasAdam(" + ", ".join(f"{k}={v}" for k, v in opt_kw.items()) + \
            ", beta_1=0.9, beta_2=0.999, epsilon=1e-7) [Keras 3 rule, torch._foreach]"
    elif opt_kind == "rmsprop":
        opt = KerasRMSprop(params, rho=0.9, epsilon=1e-7, **opt_kw)
        text = "KerasRMSprop(lr=0.001, rho=0.9, epsilon=1e-7) [Keras 3 rule: sqrt(v + eps)]"
    else:
        opt = torch.optim.SGD(params, lr=opt_kw["lr"])
        text = f"torch.optim.SGD(lr={opt_kw['lr']})"
    l2 = []
    if name in L2_CONV_KERNELS:
        l2 = [(m.weight, L2_CONV_KERNELS[name]) for m in module.modules()
              if isinstance(m, torch.nn.Conv2d)]
    n_params = sum(p.numel() for p in module.parameters())
    n_params += sum(b.numel() for n, b in module.named_buffers()
                    if n.endswith(("running_mean", "running_var")))
    return TorchRecipe(name, torch, module, opt, text, output, loss, l2, channels_last, device,
                       n_params)


def state_copy(net: TorchRecipe):
    """A detached copy of the module's weights and buffers (the in-memory 'checkpoint')."""
    return {k: v.detach().clone() for k, v in net.module.state_dict().items()}
