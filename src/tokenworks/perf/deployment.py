"""Deployment spec: one model replica on ``tp × pp`` accelerators, with its datatypes.

A ``Deployment`` is the narrow spec the perf layer needs beyond the model: which accelerator,
how the replica is split (tensor, pipeline, expert parallel), and the storage formats of
weights and KV cache. ``make_deployment`` validates a user's choice against the model and
raises ``ConfigError`` one-liners that name the value, the rule and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.model.arch import ModelArch

# ASSUMPTION: a PCIe server holds up to 8 cards (the common 8-GPU PCIe server designs).
PCIE_SERVER_CARDS = 8
# Weight formats that are weight-only on most engines (AWQ/GPTQ W4A16): matmuls run in 16-bit.
WEIGHT_ONLY = {"int4"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """One replica's hardware split and datatypes.

    ``compute_dtype`` is the format the matmuls run in. ``None`` means *derived* (see
    ``matmul_dtype``): FP8 weights on a part with FP8 tensor cores compute in FP8; FP4
    (nvfp4/mxfp4/fp4) weights compute in FP4 where the part has it, otherwise they are
    dequantised and run at the next wider supported rate (FP8 or BF16); INT4 weight-only
    (AWQ/GPTQ) always computes in BF16; BF16/FP16 compute in themselves.
    """

    accelerator: Accelerator
    tp: int = 1
    pp: int = 1
    ep: int = 1  # expert parallel size (MoE only): divides num_experts, <= tp*pp
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    compute_dtype: str | None = None

    @property
    def num_gpus(self) -> int:
        """Accelerators in one replica (tp × pp)."""
        return self.tp * self.pp

    @property
    def matmul_dtype(self) -> str:
        """The precision whose peak FLOP/s the linear layers run at (derived when None)."""
        if self.compute_dtype is not None:
            return get_dtype(self.compute_dtype).compute
        return derive_compute_dtype(self.accelerator, self.weights_dtype)

    @property
    def tp_crosses_scaleup_domain(self) -> bool:
        """True when the TP group spans more GPUs than one NVLink/xGMI domain holds."""
        return self.tp > self.accelerator.scaleup_domain_size

    @property
    def tp_link_bytes_per_s(self) -> float:
        """Per-GPU one-direction bandwidth the TP collectives run on.

        Inside the scale-up domain that is NVLink/xGMI; a TP group that crosses the domain is
        limited by the slowest hop, the scale-out NIC.
        """
        acc = self.accelerator
        up, out = acc.scaleup_bytes_per_s, acc.scaleout_bytes_per_s
        if up is None and acc.host_link_bytes_per_s is not None and \
                self.tp <= PCIE_SERVER_CARDS:
            # ASSUMPTION: PCIe cards in one server all-reduce through their PCIe switch at the
            # card's host-link rate (NCCL over PCIe peer-to-peer or host memory).
            return acc.host_link_bytes_per_s
        if self.tp_crosses_scaleup_domain or up is None:
            # ASSUMPTION: with no scale-up link or a TP group crossing the domain, collectives
            # run at the scale-out NIC rate; with neither, PCIe Gen5 x16 (64 GB/s per
            # direction, PCI-SIG PCIe 5.0 spec).
            return out if out is not None else 64e9
        return up

    @property
    def tp_uses_scaleup(self) -> bool:
        """True when the TP group's collectives run on a scale-up link (NVLink, xGMI...),
        where engines use their low-latency custom all-reduce kernels."""
        return self.accelerator.scaleup_bytes_per_s is not None and \
            not self.tp_crosses_scaleup_domain

    @property
    def pp_link_bytes_per_s(self) -> float:
        """Bandwidth of stage-to-stage activation sends."""
        acc = self.accelerator
        # ASSUMPTION: pipeline stages of up to one domain's worth of GPUs talk over the
        # scale-up link; larger replicas send between nodes over scale-out.
        if self.num_gpus <= acc.scaleup_domain_size and acc.scaleup_bytes_per_s is not None:
            return acc.scaleup_bytes_per_s
        return acc.scaleout_bytes_per_s if acc.scaleout_bytes_per_s is not None else 64e9


def derive_compute_dtype(acc: Accelerator, weights_dtype: str) -> str:
    """Matmul precision for ``weights_dtype`` on ``acc`` (see ``Deployment`` docstring)."""
    d = get_dtype(weights_dtype)
    if d.name in WEIGHT_ONLY:
        for p in ("bf16", "fp16", "int8"):  # int8: NPUs with only an integer figure
            if acc.supports(p):
                return p
        return "bf16"
    # Walk from the weights' own format to wider ones until the part has tensor cores for it.
    chain = {"fp4": ("fp4", "fp8", "bf16", "fp16"), "fp6": ("fp6", "fp8", "bf16", "fp16"),
             "fp8": ("fp8", "bf16", "fp16"), "int8": ("int8", "bf16", "fp16"),
             "bf16": ("bf16", "fp16"), "fp16": ("fp16", "bf16"),
             "tf32": ("tf32", "fp32"), "fp32": ("fp32",)}.get(d.compute, (d.compute,))
    for p in chain:
        if acc.supports(p):
            return p
    for p in ("int8", "fp8", "fp16", "bf16"):  # edge NPUs list only an integer figure
        if acc.supports(p):
            return p
    return chain[-1]


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def make_deployment(
    model: ModelArch,
    accelerator: Accelerator | str,
    *,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    weights_dtype: str = "bf16",
    kv_dtype: str = "bf16",
    compute_dtype: str | None = None,
) -> Deployment:
    """Validate and build a ``Deployment`` (``ConfigError`` naming value, rule and fix)."""
    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} = {v!r} is invalid: it must be a whole number >= 1.")
    heads, kv = model.num_attention_heads, model.num_kv_heads
    if model.num_attention_layers > 0 and heads % tp:
        ok = ", ".join(str(d) for d in _divisors(heads) if d <= 64)
        raise ConfigError(
            f"tp = {tp} does not divide {model.name}'s {heads} attention heads; tensor "
            f"parallelism splits heads evenly. Use tp in {{{ok}}}.")
    # ASSUMPTION: when tp > num_kv_heads the KV heads are replicated (vLLM/TRT-LLM do this),
    # which needs tp to be a multiple of num_kv_heads; otherwise tp must divide num_kv_heads.
    if model.mla is None and model.num_attention_layers > 0 and kv > 0 and (
            (tp <= kv and kv % tp) or (tp > kv and tp % kv)):
        raise ConfigError(
            f"tp = {tp} does not fit {model.name}'s {kv} KV heads: tp must divide the KV heads "
            f"or be a multiple of them (then KV heads are replicated). Use a divisor or "
            f"multiple of {kv}.")
    if pp > model.num_layers:
        raise ConfigError(f"pp = {pp} exceeds {model.name}'s {model.num_layers} layers; each "
                          f"pipeline stage needs at least one layer. Use pp <= {model.num_layers}.")
    if ep > 1:
        if not model.is_moe or model.moe is None:
            raise ConfigError(f"ep = {ep} needs a mixture-of-experts model; {model.name} is "
                              f"dense. Use ep = 1.")
        if model.moe.num_experts % ep:
            raise ConfigError(f"ep = {ep} does not divide {model.name}'s "
                              f"{model.moe.num_experts} experts. Use a divisor of "
                              f"{model.moe.num_experts}.")
        if ep > tp * pp:
            raise ConfigError(f"ep = {ep} exceeds the replica's tp × pp = {tp * pp} GPUs; "
                              f"experts are spread over the replica's GPUs. Use ep <= {tp * pp}.")
    w = get_dtype(weights_dtype).name
    k = get_dtype(kv_dtype).name
    c = None if compute_dtype is None else get_dtype(compute_dtype).name
    if c is not None and not acc.supports(get_dtype(c).compute):
        have = ", ".join(p for p, _ in acc.peak_flops_per_s)
        raise ConfigError(f"compute_dtype = {c} has no tensor-core rate on {acc.name} (it "
                          f"lists {have}). Pick one of those or leave it unset to derive it.")
    return Deployment(accelerator=acc, tp=tp, pp=pp, ep=ep, weights_dtype=w, kv_dtype=k,
                      compute_dtype=c)
