"""Explicit table of architectures: name → builder.

Written out by hand on purpose: a frozen bundle cannot scan folders for ``*_arch.py`` and
PyInstaller only follows static imports. Each SNN names its ANN twin (same topology,
ReLU instead of LIF, no time axis) so every view and energy figure can be paired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from torch import nn

from spikeview.errors import ModelNotFoundError


@dataclass(frozen=True)
class ArchSpec:
    name: str
    builder: Callable[..., nn.Module]
    spiking: bool
    twin: str | None
    description: str
    official_kwargs: dict[str, Any] = field(default_factory=dict)
    # modules whose outputs are the decoder features, coarse to fine (hints for H-KD distillation);
    # SNN outputs are [T, N, C, H, W], ANN outputs [N, C, H, W]
    decoder_features: tuple[str, ...] = ()


def _esdnet(**kwargs: Any) -> nn.Module:
    from spikeview.archs.esdnet import ESDNet

    return ESDNet(**kwargs)


_ESDNET_OFFICIAL = {
    "inp_channels": 3,
    "out_channels": 3,
    "dim": 48,
    "en_num_blocks": [4, 4, 8, 8],
    "de_num_blocks": [2, 2, 2, 2],
    "bias": False,
    "T": 4,
}


def _vlif(**kwargs: Any) -> nn.Module:
    from spikeview.archs.vlif import VLIFNet

    return VLIFNet(**kwargs)


# the Rain200H / Rain1200 models (ESDNet's signature plus use_refinement); the Rain200L model
# needs use_refinement=True
_VLIF_OFFICIAL = {**_ESDNET_OFFICIAL, "use_refinement": False}

_UNET_DECODER = ("decoder_level3", "decoder_level2", "decoder_level1")


def _spikenir(**kwargs: Any) -> nn.Module:
    from spikeview.archs.nirnet import SpikeNIRNet

    return SpikeNIRNet(**kwargs)


# SpikeView's own NIR-exportable net (no official release): small enough to train on a CPU
_SPIKENIR_DEFAULT = {
    "inp_channels": 3,
    "out_channels": 3,
    "dim": 16,
    "dilations": [1, 2, 4, 8],
    "T": 4,
    "tau": 2.0,
    "v_threshold": 0.15,
    "decay_input": True,
}
_SPIKENIR_FEATURES = ("blocks.1", "blocks.2", "blocks.3")


def _spikerir(**kwargs: Any) -> nn.Module:
    from spikeview.archs.spikerir import SpikerIR

    return SpikerIR(**kwargs)


# the paper's configuration (no official code: names and unstated choices are ours, see spikerir.py)
_SPIKERIR_DEFAULT = {
    "inp_channels": 3,
    "out_channels": 3,
    "dim": 48,
    "num_blocks": [2, 2, 2, 2],
    "T": 4,
    "shortcut": "conv",
    "refinement": True,
}
# latent (level 4) then decoder levels 3, 2, 1: the paper's H-KD "decoder" stages 4 -> 7
_SPIKERIR_FEATURES = ("latent", "decoder_level3", "decoder_level2", "decoder_level1")

ARCHS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec(
            "esdnet",
            _esdnet,
            spiking=True,
            twin="esdnet_ann",
            description="ESDNet (Song et al., IJCAI 2024): spiking residual U-Net, LIF τ=2, V_th=0.15",
            official_kwargs=_ESDNET_OFFICIAL,
            decoder_features=_UNET_DECODER,
        ),
        ArchSpec(
            "esdnet_ann",
            partial(_esdnet, spiking=False),
            spiking=False,
            twin="esdnet",
            description="ANN twin of ESDNet: same topology, ReLU instead of LIF, no time axis",
            official_kwargs=_ESDNET_OFFICIAL,
            decoder_features=_UNET_DECODER,
        ),
        ArchSpec(
            "vlif",
            _vlif,
            spiking=True,
            twin="vlif_ann",
            description="VLIF-Net (Chen et al., AAAI 2026): Visual LIF (multi-spike neuron over sub-pixel "
            "positions), decomposition blocks and multi-scale units on ESDNet's U-Net",
            official_kwargs=_VLIF_OFFICIAL,
            decoder_features=_UNET_DECODER,
        ),
        ArchSpec(
            "vlif_ann",
            partial(_vlif, spiking=False),
            spiking=False,
            twin="vlif",
            description="ANN twin of VLIF-Net: same topology, ReLU instead of LIF, clamp(x, 0, 4)/4 instead of "
            "the multi-spike neuron, no time axis",
            official_kwargs=_VLIF_OFFICIAL,
            decoder_features=_UNET_DECODER,
        ),
        ArchSpec(
            "spikenir",
            _spikenir,
            spiking=True,
            twin="spikenir_ann",
            description="SpikeNIR (SpikeView): full-resolution dilated-conv SNN with membrane skips and an LI "
            "readout; exportable to NIR",
            official_kwargs=_SPIKENIR_DEFAULT,
            decoder_features=_SPIKENIR_FEATURES,
        ),
        ArchSpec(
            "spikenir_ann",
            partial(_spikenir, spiking=False),
            spiking=False,
            twin="spikenir",
            description="ANN twin of SpikeNIR: same topology, ReLU instead of LIF, no LI readout, no time axis",
            official_kwargs=_SPIKENIR_DEFAULT,
            decoder_features=_SPIKENIR_FEATURES,
        ),
        ArchSpec(
            "spikerir",
            _spikerir,
            spiking=True,
            twin="spikerir_ann",
            description="SpikerIR (Su et al., arXiv 2504.01755): 4-level spiking U-Net of SCU + multi-dimensional "
            "attention blocks, LIF τ=2, V_th=0.15, trained with H-KD from an ANN",
            official_kwargs=_SPIKERIR_DEFAULT,
            decoder_features=_SPIKERIR_FEATURES,
        ),
        ArchSpec(
            "spikerir_ann",
            partial(_spikerir, spiking=False),
            spiking=False,
            twin="spikerir",
            description="ANN twin of SpikerIR: same topology, ReLU instead of LIF, no time axis",
            official_kwargs=_SPIKERIR_DEFAULT,
            decoder_features=_SPIKERIR_FEATURES,
        ),
    )
}


def arch_spec(name: str) -> ArchSpec:
    try:
        return ARCHS[name]
    except KeyError:
        known = ", ".join(sorted(ARCHS))
        raise ModelNotFoundError(f"unknown architecture '{name}' (known: {known})") from None


def build_arch(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered architecture with its official constructor argument names.

    Missing arguments take the official configuration's values.
    """
    spec = arch_spec(name)
    merged = {**spec.official_kwargs, **kwargs}
    try:
        return spec.builder(**merged)
    except TypeError as exc:
        raise ModelNotFoundError(f"bad arguments for architecture '{name}': {exc}") from None


def twin_of(name: str) -> str | None:
    return arch_spec(name).twin
