"""Watching spiking layers from outside the model.

Nothing here changes a model: :class:`ActivityRecorder` registers forward hooks on the
neuron layers (:class:`~spikeview.snn.LIF` and VLIF's multi-spike
:class:`~spikeview.snn.multispike.MultiSpike`) when its ``with`` block is entered and removes
them when it is left (also on exceptions), so an unobserved model pays nothing. What it keeps
is reduced on the spot to small CPU numpy arrays and stored in bounded :class:`RingBuffer` s,
so a webcam loop can run for hours without growing.

Shapes follow the SNN convention: a LIF layer sees ``[T, N, C, H, W]`` currents and emits
``[T, N, C, H, W]`` spikes in {0, 1}. A multi-spike layer emits graded spikes in
``{0, 1/D, ..., 1}`` (D = ``levels`` = 4); inside a Visual LIF (and VLIF's multi-scale unit) its
sequence is ``T·r²`` sub-pixel pseudo-steps at ``1/r`` resolution, which snapshots map back to
``T`` full-resolution steps.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from spikeview.errors import ConfigError
from spikeview.hooks import HookSession
from spikeview.recording.ring_buffer import RingBuffer
from spikeview.snn.multispike import MultiSpike, multispike_multistep
from spikeview.snn.neurons import LIF, lif_multistep

log = logging.getLogger(__name__)

#: Number of bins of :attr:`ActivitySnapshot.membrane_hist`.
HIST_BINS = 64

_CHANNEL_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

#: Neuron types the recorder watches.
NEURON_TYPES: tuple[type[nn.Module], ...] = (LIF, MultiSpike)

#: Membrane value above which a multi-spike neuron emits its first graded spike: the output is
#: round(clamp(m, 0, D)) / D and 0.5 rounds (half to even) to 0.
MULTISPIKE_THRESHOLD = 0.5


@dataclass(frozen=True)
class LayerInfo:
    """One spiking layer, for a layer picker.

    ``name`` is the qualified name from ``model.named_modules()``; ``index`` the position in
    execution order (definition order unless an example input was run); ``channels`` the
    number of channels (``C`` of ``[T, N, C, H, W]``) or None if it cannot be known without
    running the model.
    """

    name: str
    kind: str
    channels: int | None
    index: int


@dataclass(frozen=True)
class ActivitySnapshot:
    """What one forward call of the captured layer looked like (batch item 0).

    - ``membrane``: float32 ``[T, h, w]``, the charged, pre-reset membrane potential ``H[t]``
      of channel ``channel``, block-averaged so that ``max(h, w) <= max_side``.
    - ``spikes``: float32 ``[T, h, w]`` in [0, 1], the mean spike value in each block of the
      same channel: the fraction of spiking neurons for LIF (exactly 0/1 when nothing was
      downsampled), the mean graded value for a multi-spike layer (exactly in
      ``{0, 1/D, ..., 1}`` when nothing was downsampled).
    - ``raster``: bool ``[T, k]`` spikes of a fixed random sample of ``k`` neurons of the layer
      (all channels), ``k = min(raster_neurons, C·H·W)``.
    - ``membrane_hist``: ``(counts int64 [bins], bin_edges float32 [bins + 1])`` of ``H[t]``
      over all neurons and steps of batch item 0; ``threshold`` is the firing threshold to mark
      (:data:`MULTISPIKE_THRESHOLD` for a multi-spike layer).
    - ``firing_rate``: mean spike value over neurons·steps of the whole call (all batch items):
      spikes / neuron-steps for LIF, unit spikes / (neuron-steps · D) for a multi-spike layer.
    - ``call_index``: 0 for the layer's first call inside the recorder, then 1, 2, ...
    - ``layer_shape``: the full shape of the layer's input, ``[T, N, C, H, W]`` (``[T·r², N, C,
      H/r, W/r]`` for a sub-pixel multi-spike layer).
    - ``spike_levels``: D, 1 for binary spikes.
    - ``subpixel``: r > 1 if the neuron's sequence was ``T·r²`` sub-pixel pseudo-steps that the
      maps, raster and membrane show regrouped to ``T`` steps at full resolution, else 1.
    """

    layer: str
    channel: int
    membrane: np.ndarray
    spikes: np.ndarray
    raster: np.ndarray
    membrane_hist: tuple[np.ndarray, np.ndarray]
    threshold: float
    firing_rate: float
    call_index: int = 0
    layer_shape: tuple[int, ...] = field(default_factory=tuple)
    spike_levels: int = 1
    subpixel: int = 1


def _lif_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The neuron layers (:data:`NEURON_TYPES`) of ``model`` in definition order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, NEURON_TYPES)]


def _levels(module: nn.Module) -> int:
    return int(module.levels) if isinstance(module, MultiSpike) else 1


def _kind(module: nn.Module) -> str:
    return "MultiSpike" if isinstance(module, MultiSpike) else "LIF"


def _subpixel_factors(model: nn.Module) -> dict[str, int]:
    """``{name: r}`` of multi-spike neurons that run over ``T·r²`` sub-pixel pseudo-steps.

    VLIF's Visual LIF and multi-scale unit (both with an ``r`` attribute) feed their
    ``lif_node`` with :func:`~spikeview.archs.vlif.patches_to_time`.
    """
    from spikeview.archs.vlif import SMU, VisualLIF

    modules = dict(model.named_modules())
    found = {}
    for name, module in modules.items():
        parent_name, _, leaf = name.rpartition(".")
        parent = modules.get(parent_name)
        if isinstance(module, MultiSpike) and leaf == "lif_node" and isinstance(parent, (VisualLIF, SMU)):
            found[name] = int(parent.r)
    return found


def _time_from_patches(x: torch.Tensor, r: int) -> torch.Tensor:
    """Inverse of ``patches_to_time`` for one batch item: ``[T·r², C, h, w]`` → ``[T, C, h·r, w·r]``."""
    length, channels, height, width = x.shape
    steps = length // (r * r)
    x = x.reshape(steps, r * r, channels, height, width).transpose(1, 2).reshape(steps, channels * r * r, height, width)
    return nn.functional.pixel_shuffle(x, r)


def _guess_channels(model: nn.Module) -> dict[str, int]:
    """Channels of each neuron from the first conv/linear that follows it in its parent."""
    names = [name for name, _ in model.named_modules()]
    modules = dict(model.named_modules())
    found: dict[str, int] = {}
    subpixel = _subpixel_factors(model)
    for i, name in enumerate(names):
        if not isinstance(modules[name], NEURON_TYPES):
            continue
        parent = name.rpartition(".")[0]
        r = subpixel.get(name, 1)
        for later in names[i + 1 :]:
            if later.rpartition(".")[0] != parent:
                continue
            nxt = modules[later]
            if isinstance(nxt, _CHANNEL_MODULES):
                width = nxt.in_channels if hasattr(nxt, "in_channels") else nxt.in_features
                # a Visual LIF's channel_adjust takes the r² sub-pixel maps of every channel
                found[name] = width // (r * r)
            break  # only the immediate next sibling tells the channel count
    return found


def spiking_layers(model: nn.Module, example_input: torch.Tensor | None = None) -> list[LayerInfo]:
    """The neuron layers (LIF, multi-spike) of ``model`` for a layer picker.

    Without ``example_input`` the order is definition order (execution order for the
    architectures here) and channels are read from the conv that follows each neuron. With
    an ``example_input`` (``[N, C, H, W]`` float32) the model is run once under
    ``torch.no_grad`` to get the true execution order and channel counts; layers that did
    not run come last.
    """
    lifs = _lif_modules(model)
    kinds = {name: _kind(module) for name, module in lifs}
    if example_input is None:
        channels = _guess_channels(model)
        return [LayerInfo(name, kinds[name], channels.get(name), i) for i, (name, _) in enumerate(lifs)]

    order: list[str] = []
    seen_channels: dict[str, int] = {}
    handles = []

    def make_hook(layer_name: str):
        def hook(_module: nn.Module, inputs: tuple, _output: torch.Tensor) -> None:
            if layer_name not in seen_channels:
                order.append(layer_name)
                x = inputs[0]
                seen_channels[layer_name] = int(x.shape[2]) if x.dim() >= 3 else int(x.shape[-1])

        return hook

    # video state must survive the probe
    saved_states = [(module, module._v) for _, module in lifs if isinstance(module, LIF)]
    try:
        for name, module in lifs:
            handles.append(module.register_forward_hook(make_hook(name)))
        with torch.no_grad():
            model(example_input)
    finally:
        for h in handles:
            h.remove()
        for module, v in saved_states:
            module._v = v
    order += [name for name, _ in lifs if name not in seen_channels]
    guessed = _guess_channels(model)
    return [
        LayerInfo(name, kinds[name], seen_channels.get(name, guessed.get(name)), i) for i, name in enumerate(order)
    ]


class ActivityRecorder(HookSession):
    """Context manager that records spiking activity of a model's neuron layers (LIF, multi-spike).

    Usage::

        with ActivityRecorder(model) as rec:
            model(x)            # any number of calls, e.g. all tiles of an image
        rec.firing_rates()      # {layer name: mean firing rate over all calls}
        rec.latest()            # ActivitySnapshot of the capture layer, or None

    For every neuron layer and call it adds the spike count and the number of neuron-steps
    (``T·N·C·H·W``); :meth:`firing_rates` divides the totals, i.e. it is the mean over all
    neuron-steps of all calls (tiles of different size weigh by their size). A multi-spike
    layer's graded spike ``s`` counts as ``s·D`` unit spikes (an integer spike count, as
    integer-spike hardware would send it) and its rate is divided by D, so rates stay the mean
    spike value in [0, 1] for both kinds.

    For the capture layer (default: the first LIF in definition order) each call also
    appends an :class:`ActivitySnapshot` to :attr:`snapshots` (``capacity`` latest kept) and
    its raster to :attr:`frame_rasters` (``frame_capacity`` latest kept), so the GUI can
    show spikes over video frames. The membrane is not stored by the neuron: the hook
    recomputes ``H[t]`` for batch item 0 from the layer's input current with
    :func:`~spikeview.snn.lif_multistep` (multi-spike layers:
    :func:`~spikeview.snn.multispike.multispike_multistep`, the membrane before quantisation),
    starting from the carried-over state in video mode.

    ``capture_layer`` and ``capture_channel`` can be changed while attached with
    :meth:`set_capture`; a channel beyond the layer's width is clamped (the snapshot says
    which channel it shows). Reading methods may be called from another thread.
    """

    def __init__(
        self,
        model: nn.Module,
        capture_layer: str | None = None,
        capture_channel: int = 0,
        max_side: int = 128,
        raster_neurons: int = 64,
        capacity: int = 8,
        seed: int = 0,
        frame_capacity: int = 256,
    ) -> None:
        super().__init__()
        if max_side < 1:
            raise ValueError(f"max_side must be >= 1, got {max_side}")
        if raster_neurons < 1:
            raise ValueError(f"raster_neurons must be >= 1, got {raster_neurons}")
        if capture_channel < 0:
            raise ValueError(f"capture_channel must be >= 0, got {capture_channel}")
        self.model = model
        self.max_side = int(max_side)
        self.raster_neurons = int(raster_neurons)
        self.seed = int(seed)
        self.snapshots: RingBuffer[ActivitySnapshot] = RingBuffer(capacity)
        self.frame_rasters: RingBuffer[np.ndarray] = RingBuffer(frame_capacity)
        self._requested_layer = capture_layer
        self._capture_layer: str | None = None
        self._capture_channel = int(capture_channel)
        self._lock = threading.Lock()
        self._spikes: dict[str, int] = {}
        self._elements: dict[str, int] = {}
        self._calls: dict[str, int] = {}
        self._levels: dict[str, int] = {}
        self._subpixel: dict[str, int] = {}
        self._v_init: dict[str, torch.Tensor] = {}
        self._raster_index: dict[int, torch.Tensor] = {}
        self._layer_names: list[str] = []

    # -- attaching ---------------------------------------------------------------------

    @property
    def capture_layer(self) -> str | None:
        return self._capture_layer

    @property
    def capture_channel(self) -> int:
        return self._capture_channel

    def layers(self) -> list[LayerInfo]:
        """The model's neuron layers (definition order)."""
        return spiking_layers(self.model)

    def _attach(self) -> None:
        lifs = _lif_modules(self.model)
        self._layer_names = [name for name, _ in lifs]
        self._subpixel = _subpixel_factors(self.model)
        capture = self._resolve_layer(self._requested_layer)
        with self._lock:
            self._capture_layer = capture
            self._levels.update({name: _levels(module) for name, module in lifs})
        for name, module in lifs:
            if isinstance(module, LIF):
                self._keep(module.register_forward_pre_hook(self._make_pre_hook(name)))
            self._keep(module.register_forward_hook(self._make_hook(name)))
        if not lifs:
            log.debug("ActivityRecorder: %s has no neuron layers", type(self.model).__name__)

    def _on_detach(self) -> None:
        self._v_init.clear()

    def _resolve_layer(self, layer: str | None) -> str | None:
        if layer is None:
            return self._layer_names[0] if self._layer_names else None
        if layer not in self._layer_names:
            some = ", ".join(self._layer_names[:5]) or "none"
            raise ConfigError(f"no spiking layer named {layer!r} (spiking layers: {some}...)")
        return layer

    def set_capture(self, layer: str | None = None, channel: int | None = None) -> None:
        """Change the captured layer and/or channel (also while attached, from any thread)."""
        if channel is not None and channel < 0:
            raise ValueError(f"capture_channel must be >= 0, got {channel}")
        if not self._layer_names:
            self._layer_names = [name for name, _ in _lif_modules(self.model)]
        with self._lock:
            if layer is not None:
                self._requested_layer = layer
                self._capture_layer = self._resolve_layer(layer)
            if channel is not None:
                self._capture_channel = int(channel)

    # -- hooks -------------------------------------------------------------------------

    def _make_pre_hook(self, name: str):
        def pre_hook(module: LIF, inputs: tuple) -> None:
            # LIF starts from its carried state only in video mode and only if shapes match
            # (same rule as LIF.forward); remember it before forward() overwrites it.
            v = module._v
            if module.carry_state and v is not None and inputs and v.shape == inputs[0].shape[1:]:
                self._v_init[name] = v
            else:
                self._v_init.pop(name, None)

        return pre_hook

    def _make_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            with torch.no_grad():
                x = inputs[0].detach() if inputs else None  # None: called with keywords, no membrane
                self._on_forward(name, module, x, output.detach())

        return hook

    def _on_forward(self, name: str, module: nn.Module, x: torch.Tensor | None, spikes: torch.Tensor) -> None:
        levels = _levels(module)
        if levels == 1:
            count = int(torch.count_nonzero(spikes))
        else:
            # graded s in {0, 1/D, ..., 1} → s·D unit spikes (exact integers, summed in float64)
            count = round(float(spikes.sum(dtype=torch.float64)) * levels)
        total = spikes.numel()
        with self._lock:
            self._spikes[name] = self._spikes.get(name, 0) + count
            self._elements[name] = self._elements.get(name, 0) + total
            call_index = self._calls.get(name, 0)
            self._calls[name] = call_index + 1
            capture = self._capture_layer
            channel = self._capture_channel
        if name != capture or x is None:
            return
        snap = self._snapshot(name, module, x, spikes, channel, count / max(total * levels, 1), call_index)
        self.snapshots.append(snap)
        self.frame_rasters.append(snap.raster)

    def _raster_indices(self, n: int) -> torch.Tensor:
        idx = self._raster_index.get(n)
        if idx is None:
            gen = torch.Generator().manual_seed(self.seed)
            idx = torch.randperm(n, generator=gen)[: self.raster_neurons].sort().values
            self._raster_index[n] = idx
        return idx

    def _downsample(self, maps: torch.Tensor) -> torch.Tensor:
        """``[T, H, W]`` → block means ``[T, h, w]`` with ``max(h, w) <= max_side``."""
        height, width = maps.shape[-2:]
        factor = math.ceil(max(height, width) / self.max_side)
        if factor <= 1:
            return maps
        size = (math.ceil(height / factor), math.ceil(width / factor))
        return nn.functional.adaptive_avg_pool2d(maps, size)

    def _snapshot(
        self,
        name: str,
        module: nn.Module,
        x: torch.Tensor,
        spikes: torch.Tensor,
        channel: int,
        firing_rate: float,
        call_index: int,
    ) -> ActivitySnapshot:
        x0 = x[:, :1].float()
        if isinstance(module, MultiSpike):
            _, _, h_seq = multispike_multistep(x0, module.decay, module.levels, return_membrane=True)
            threshold, floor, levels = MULTISPIKE_THRESHOLD, 0.0, module.levels
        else:
            params = module.params
            v_init = self._v_init.get(name)
            v0 = v_init[:1].float() if v_init is not None else None
            _, _, h_seq = lif_multistep(x0, params, None, v0, return_membrane=True)
            threshold, floor, levels = params.v_threshold, params.v_reset, 1
        h = h_seq[:, 0]  # [T, C, ...] of batch item 0
        s = spikes[:, 0].float()
        r = self._subpixel.get(name, 1)
        if r > 1 and h.dim() == 4 and h.shape[0] % (r * r) == 0:
            # T·r² sub-pixel pseudo-steps at 1/r resolution → T steps at full resolution
            h, s = _time_from_patches(h, r), _time_from_patches(s, r)
        else:
            r = 1
        steps = h.shape[0]
        if h.dim() == 1:  # [T]: a layer without channels
            h, s = h.view(steps, 1, 1, 1), s.view(steps, 1, 1, 1)
        elif h.dim() == 2:  # [T, C]
            h, s = h.unsqueeze(-1).unsqueeze(-1), s.unsqueeze(-1).unsqueeze(-1)
        elif h.dim() == 3:  # [T, C, L]
            h, s = h.unsqueeze(-2), s.unsqueeze(-2)
        elif h.dim() > 4:
            h, s = h.flatten(3), s.flatten(3)
        channel = min(channel, h.shape[1] - 1)
        membrane = self._downsample(h[:, channel]).contiguous()
        spike_map = self._downsample(s[:, channel]).contiguous()

        flat = s.reshape(steps, -1)
        raster = flat[:, self._raster_indices(flat.shape[1]).to(flat.device)] != 0

        values = h.reshape(-1)
        lo = min(float(values.min()), floor)
        hi = max(float(values.max()), threshold)
        if hi <= lo:
            hi = lo + 1.0
        # NumPy counts in int64 (float32 torch histograms lose counts above 2**24 per bin)
        counts, edges = np.histogram(values.cpu().numpy(), bins=HIST_BINS, range=(lo, hi))

        return ActivitySnapshot(
            layer=name,
            channel=channel,
            membrane=membrane.cpu().numpy().astype(np.float32, copy=True),
            spikes=spike_map.cpu().numpy().astype(np.float32, copy=True),
            raster=raster.cpu().numpy().copy(),
            membrane_hist=(counts.astype(np.int64), edges.astype(np.float32)),
            threshold=float(threshold),
            firing_rate=firing_rate,
            call_index=call_index,
            layer_shape=tuple(int(d) for d in x.shape),
            spike_levels=levels,
            subpixel=r,
        )

    # -- reading -----------------------------------------------------------------------

    def latest(self) -> ActivitySnapshot | None:
        """The latest snapshot of the capture layer, or None if it has not run yet."""
        return self.snapshots.latest()

    def firing_rates(self) -> dict[str, float]:
        """``{layer: mean spike value}`` over all calls so far, layers that ran only.

        Spikes / neuron-steps for LIF; unit spikes / (neuron-steps · D) for multi-spike layers.
        """
        with self._lock:
            return {
                name: self._spikes[name] / max(self._elements[name] * self._levels.get(name, 1), 1)
                for name in self._spikes
            }

    def spike_levels(self) -> dict[str, int]:
        """``{layer: D}``: 1 for binary (LIF) layers, the number of graded levels otherwise."""
        with self._lock:
            return dict(self._levels)

    def spike_counts(self) -> dict[str, int]:
        """``{layer: total number of spikes}`` over all calls so far; a graded spike ``s`` of a
        multi-spike layer counts as ``s·D`` unit spikes."""
        with self._lock:
            return dict(self._spikes)

    def element_counts(self) -> dict[str, int]:
        """``{layer: total number of neuron-steps (T·N·C·H·W summed over calls)}``."""
        with self._lock:
            return dict(self._elements)

    def call_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def overall_firing_rate(self) -> float | None:
        """Mean spike value over all neuron-steps of all neuron layers (each layer's unit spikes
        divided by its D), or None if none ran."""
        with self._lock:
            total = sum(self._elements.values())
            value = sum(count / self._levels.get(name, 1) for name, count in self._spikes.items())
            return value / total if total else None

    def clear(self) -> None:
        """Forget counts and snapshots (e.g. between images) without detaching."""
        with self._lock:
            self._spikes.clear()
            self._elements.clear()
            self._calls.clear()
        self.snapshots.clear()
        self.frame_rasters.clear()
