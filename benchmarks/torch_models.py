"""The textbook's five benchmark networks in PyTorch, built like cudnn_lite.zoo builds them.

    import torch_models
    net = torch_models.build("mnist_cnn", torch)    # a TorchNet: module, optimizer, shapes
    net.module(x_nchw)                             # logits (softmax is fused into the loss)

Same architecture as cudnn_lite.zoo (and the book's Keras code):

- Keras 'same' padding: 3x3 kernels pad 1 on every side; 2x2 kernels pad only
  right/bottom (F.pad(x, (0, 1, 0, 1))), where Keras puts the extra cell.
- Flatten takes the channels-last order (Keras's): x.permute(0, 2, 3, 1).flatten(1),
  which is a free view for a channels_last tensor.
- BatchNorm: eps 1e-3, Keras momentum 0.99 = torch momentum 0.01.
- The last Dense has no softmax: F.cross_entropy takes logits (the fused
  softmax + cross-entropy cudnn_lite also uses); inference applies softmax.
- Optimizers as the book compiles them: 'adam' (lr 1e-3), 'rmsprop' (lr 1e-3,
  Keras rho 0.9 = torch alpha 0.9), Adam(lr 1e-4) with L2 1e-4 on the conv
  kernels of cifar10_improved (Keras adds 1e-4 * sum(w^2) to the loss, i.e.
  2e-4 * w to the gradient: torch's coupled weight_decay=2e-4 on those
  kernels). Keras's epsilon 1e-7 everywhere. The book's decay=1e-6 learning-rate
  schedule is left out (no cost difference). Adam runs fused=True where the
  installed torch supports it on CPU (its fastest), else foreach.

Tensors are NCHW-shaped in channels_last memory format (torch's fast CPU
layout for convolutions; oneDNN); ``channels_last=False`` gives contiguous NCHW.
"""
from __future__ import annotations

import dataclasses

NAMES = ["mnist_mlp", "mnist_cnn", "mnist_cnn_dropout", "cifar10_cnn", "cifar10_improved"]
BATCH = {"mnist_mlp": 128, "mnist_cnn": 128, "mnist_cnn_dropout": 128, "cifar10_cnn": 32,
         "cifar10_improved": 128}
# per-sample input shape as cudnn_lite (Keras) takes it: channels-last
INPUT_SHAPE = {"mnist_mlp": (28, 28), "mnist_cnn": (28, 28, 1), "mnist_cnn_dropout": (28, 28, 1),
               "cifar10_cnn": (32, 32, 3), "cifar10_improved": (32, 32, 3)}
# total parameters (trainable + BN moving statistics) as the book reports them
TEXTBOOK_PARAMS = {"mnist_mlp": 669_706, "mnist_cnn": 220_234, "mnist_cnn_dropout": 220_234,
                   "cifar10_cnn": 528_054, "cifar10_improved": 309_290}


@dataclasses.dataclass
class TorchNet:
    name: str
    module: object          # torch.nn.Module
    optimizer: object       # torch.optim.Optimizer
    optimizer_text: str
    channels_last: bool
    params: int             # parameters + BN running statistics (Keras's count)

    def to_input(self, torch, x_nhwc):
        """A NumPy batch as cudnn_lite takes it -> the tensor this module takes (no copy when
        the layout allows)."""
        t = torch.from_numpy(x_nhwc)
        if t.dim() == 4:
            t = t.permute(0, 3, 1, 2)  # NCHW shape, channels_last strides
            if not self.channels_last:
                t = t.contiguous()
        return t


def _modules(torch):
    nn, F = torch.nn, torch.nn.functional

    class SameConv2d(nn.Conv2d):
        """Conv2d with Keras 'same' padding (stride 1): extra cell right/bottom for even kernels."""

        def __init__(self, c_in, c_out, k):
            total = k - 1
            self.extra = total - total // 2 - total // 2   # 1 for even kernels, else 0
            super().__init__(c_in, c_out, k, padding=total // 2)

        def forward(self, x):
            if self.extra:
                x = F.pad(x, (0, self.extra, 0, self.extra))
            return super().forward(x)

    class FlattenHWC(nn.Module):
        """Keras Flatten on channels-last data: (n, c, h, w) -> (n, h*w*c) in h, w, c order."""

        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x.flatten(1)

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    def mnist_mlp():
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                             nn.ReLU(), nn.Linear(512, 10))

    def mnist_cnn(dropout=False):
        layers = [SameConv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                  SameConv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), FlattenHWC()]
        if dropout:
            layers.append(nn.Dropout(0.3))
        layers += [nn.Linear(7 * 7 * 64, 64), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers.append(nn.Linear(64, 10))
        return nn.Sequential(*layers)

    def cifar10_cnn():
        return nn.Sequential(
            SameConv2d(3, 16, 2), nn.ReLU(), nn.MaxPool2d(2),
            SameConv2d(16, 32, 2), nn.ReLU(), nn.MaxPool2d(2),
            SameConv2d(32, 64, 2), nn.ReLU(), nn.MaxPool2d(2),
            FlattenHWC(), nn.Dropout(0.3), nn.Linear(4 * 4 * 64, 500), nn.ReLU(), nn.Dropout(0.4),
            nn.Linear(500, 10))

    def cifar10_improved():
        layers, c_in = [], 3
        for mult, drop in ((1, 0.2), (2, 0.3), (4, 0.4)):
            for _ in range(2):
                c_out = 32 * mult
                layers += [SameConv2d(c_in, c_out, 3), nn.ReLU(), bn(c_out)]
                c_in = c_out
            layers += [nn.MaxPool2d(2), nn.Dropout(drop)]
        layers += [FlattenHWC(), nn.Linear(4 * 4 * 128, 10)]
        return nn.Sequential(*layers)

    return {"mnist_mlp": mnist_mlp, "mnist_cnn": mnist_cnn,
            "mnist_cnn_dropout": lambda: mnist_cnn(dropout=True), "cifar10_cnn": cifar10_cnn,
            "cifar10_improved": cifar10_improved}, SameConv2d


def _adam(torch, groups, lr):
    try:
        opt = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), eps=1e-7, fused=True)
        return opt, "fused"
    except (RuntimeError, TypeError):
        return torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), eps=1e-7, foreach=True), "foreach"


def build(name, torch, channels_last=True, seed=0) -> TorchNet:
    """The network ``name`` with the book's optimizer, in train mode."""
    if name not in NAMES:
        raise ValueError(f"unknown network {name!r}; expected one of {NAMES}")
    torch.manual_seed(seed)
    builders, same_conv = _modules(torch)
    module = builders[name]()
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    module.train()
    if name == "cifar10_improved":
        decay = [m.weight for m in module.modules() if isinstance(m, same_conv)]
        ids = {id(p) for p in decay}
        rest = [p for p in module.parameters() if id(p) not in ids]
        opt, mode = _adam(torch, [{"params": decay, "weight_decay": 2e-4},
                                  {"params": rest, "weight_decay": 0.0}], 1e-4)
        text = f"Adam(lr=1e-4, eps=1e-7, {mode}), weight_decay 2e-4 on conv kernels (= Keras l2(1e-4))"
    elif name == "cifar10_cnn":
        opt = torch.optim.RMSprop(module.parameters(), lr=1e-3, alpha=0.9, eps=1e-7, foreach=True)
        text = "RMSprop(lr=1e-3, alpha=0.9, eps=1e-7, foreach) (= Keras 'rmsprop')"
    else:
        opt, mode = _adam(torch, module.parameters(), 1e-3)
        text = f"Adam(lr=1e-3, eps=1e-7, {mode}) (= Keras 'adam')"
    params = sum(p.numel() for p in module.parameters())
    params += sum(b.numel() for n, b in module.named_buffers() if n.endswith(("running_mean", "running_var")))
    return TorchNet(name, module, opt, text, channels_last, params)


def train_step(torch, net: TorchNet, x, labels):
    """One training step: forward, cross-entropy on logits, backward, optimizer step."""
    net.module.train()
    net.optimizer.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(net.module(x), labels)
    loss.backward()
    net.optimizer.step()
    return loss


def predict(torch, net: TorchNet, x):
    """Class probabilities in inference mode (eval: dropout off, BN moving statistics)."""
    net.module.eval()
    with torch.inference_mode():
        return torch.softmax(net.module(x), dim=1)
