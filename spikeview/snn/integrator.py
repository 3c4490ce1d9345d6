"""Non-spiking leaky integrator (LI), the readout neuron of NIR-exportable networks.

Per time step, with ``V[-1] = 0``::

    V[t] = V[t-1] + (X[t] - V[t-1]) / tau        (decay_input form, no threshold, no reset)

and the output *is* ``V[t]``. This is NIR's ``LI`` node (``tau·dv/dt = (v_leak − v) + r·I``)
under forward Euler with ``dt/tau_nir = 1/tau``, ``r = 1``, ``v_leak = 0``.
"""

from __future__ import annotations

import torch
from torch import nn


class LeakyIntegrator(nn.Module):
    """Multi-step LI: ``[T, N, ...]`` currents in, ``[T, N, ...]`` membrane potentials out.

    Parameter-free (nothing in the ``state_dict``); the membrane starts at 0 on every call.
    """

    def __init__(self, tau: float = 2.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.tau = float(tau)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x_seq[0])
        out = []
        for t in range(x_seq.shape[0]):
            v = v + (x_seq[t] - v) / self.tau
            out.append(v)
        return torch.stack(out)

    def extra_repr(self) -> str:
        return f"tau={self.tau}"
