"""Mixture-of-experts routing statistics: how many distinct experts a batch touches.

Units: counts of experts and tokens. The weight bytes a MoE layer reads per step scale with
the distinct experts touched, so decode with small batches reads far fewer than all experts.
"""

from __future__ import annotations

import math

import numpy as np

from tokenworks.errors import ConfigError, check_range


def _check(num_experts: int, top_k: int) -> None:
    if num_experts < 1 or top_k < 1 or top_k > num_experts:
        raise ConfigError(f"MoE routing needs 1 <= top_k <= num_experts; got top_k = {top_k}, "
                          f"num_experts = {num_experts}. Check the model's MoE config.")


def expected_distinct_experts(num_experts: int, top_k: int, num_tokens: float | np.ndarray
                              ) -> float | np.ndarray:
    """Expected experts hit by ``num_tokens`` tokens each routed to ``top_k`` of ``num_experts``.

    E·(1 − (1 − k/E)^B): each expert is missed by one token with probability 1 − k/E.
    """
    _check(num_experts, top_k)
    b = np.asarray(num_tokens, dtype=float)
    if np.any(b < 0) or np.any(np.isnan(b)):
        raise ConfigError(f"num_tokens must be >= 0; got {num_tokens!r}.")
    # ASSUMPTION: tokens route uniformly and independently (balanced routers; occupancy model as
    # in Huang et al. 2023 "Towards MoE Deployment", arXiv:2303.06182); real routing is skewed,
    # so this is an upper bound on distinct experts (and on weight bytes read).
    miss = 1.0 - top_k / num_experts
    out = num_experts * (1.0 - np.power(miss, b))
    return float(out) if out.ndim == 0 else out


def moe_saturation_tokens(num_experts: int, top_k: int, frac: float = 0.95) -> float:
    """Tokens per step at which ``frac`` of the experts are expected to be touched.

    Solves 1 − (1 − k/E)^B = frac for B: B = ln(1 − frac) / ln(1 − k/E).
    """
    _check(num_experts, top_k)
    check_range("frac", frac, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False,
                fix="Pass a fraction strictly between 0 and 1, e.g. 0.95.")
    if top_k == num_experts:
        return 1.0
    return math.log(1.0 - frac) / math.log(1.0 - top_k / num_experts)
