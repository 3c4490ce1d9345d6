"""Restoration networks: plain ``nn.Module``s plus an explicit registry.

Public API: :func:`build_arch`, :func:`arch_spec`, :data:`ARCHS`.
"""

from spikeview.archs.registry import ARCHS, ArchSpec, arch_spec, build_arch, twin_of

__all__ = ["ARCHS", "ArchSpec", "arch_spec", "build_arch", "twin_of"]
