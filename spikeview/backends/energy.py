"""Energy estimates from a backend's own counts, in the same :class:`~spikeview.energy.EnergyReport`
as ``spikeview energy`` and the GUI show (no torch)."""

from __future__ import annotations

from spikeview.backends.base import BackendResult
from spikeview.energy.costs import DEFAULT_COSTS, EnergyCosts
from spikeview.energy.report import EnergyReport, LayerEnergy


def backend_energy_report(result: BackendResult, costs: EnergyCosts | str = DEFAULT_COSTS) -> EnergyReport:
    """Price the MACs and synaptic operations that ``result``'s backend counted while it ran.

    One row per weighted layer/node: ``MAC`` when its input was real-valued (the
    direct-encoded image, every step), ``AC`` when it was spikes (SOPs = spikes × fan-out).
    An estimate of compute energy only: no chip was measured and memory traffic is left out.
    """
    rows = []
    for layer in result.layers:
        if layer.dense_macs == 0 and layer.macs == 0 and layer.sops == 0:
            continue  # neuron nodes: their spikes are priced where they arrive
        if layer.macs:
            rows.append(LayerEnergy(layer.name, layer.layer_type, "MAC", 1, layer.macs, float(layer.macs), None, 0.0))
        if layer.sops or not layer.macs:
            spiking_dense = layer.dense_macs - layer.macs
            rate = layer.sops / spiking_dense if spiking_dense > 0 else 0.0
            rows.append(LayerEnergy(layer.name, layer.layer_type, "AC", 1, spiking_dense, layer.sops, rate, 0.0))
    pixels = int(result.output.shape[0] * result.output.shape[-2] * result.output.shape[-1])
    assumptions = [
        f"Counted by backend '{result.backend}' during its own run of {result.timesteps} time step(s): "
        "spikes per neuron node; SOPs = spikes arriving x fan-out (C_out/groups x kernel, borders ignored).",
        "Real-valued inputs (the direct-encoded image) cost one MAC per dense MAC at every time step.",
        "Estimate: no neuromorphic hardware was measured; neuron updates and memory traffic are not included.",
    ]
    return EnergyReport.build(rows, costs, assumptions, calls=1, pixels=pixels)
