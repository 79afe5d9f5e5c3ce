"""A small U-Net: learnable latent [B, Cin, R, R] -> raw Gaussian map [B, Cout, R, R].

``levels`` resolutions (R must be divisible by 2^(levels-1)), channels ``width * 2^level``,
two 3x3 conv + GroupNorm + SiLU per block, average-pool down, nearest up, skip concatenation.
The output convolution starts at zero, so an untrained decoder gives the default Gaussians.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _block(cin: int, cout: int) -> nn.Sequential:
    groups = min(8, cout)
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(groups, cout), nn.SiLU(),
        nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(groups, cout), nn.SiLU(),
    )


class UNet(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, width: int = 16, levels: int = 3):
        super().__init__()
        chans = [width * 2 ** i for i in range(levels)]
        self.down = nn.ModuleList([_block(in_channels, chans[0])] +
                                  [_block(chans[i - 1], chans[i]) for i in range(1, levels)])
        self.up = nn.ModuleList([_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(levels - 1))])
        self.out = nn.Conv2d(chans[0], out_channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.avg_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, scale_factor=2.0, mode="nearest"), skip], 1))
        return self.out(x)
