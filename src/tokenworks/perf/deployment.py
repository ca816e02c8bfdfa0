"""Deployment spec: one model replica on ``tp × dp × pp`` accelerators, with its datatypes.

A ``Deployment`` is the narrow spec the perf layer needs beyond the model: which accelerator,
how the replica is split, the storage formats of weights and KV cache, and speculative
decoding. ``make_deployment`` validates a user's choice against the model and raises
``ConfigError`` one-liners that name the value, the rule and the fix.

The split, per pipeline stage (the layouts vLLM, SGLang and TensorRT-LLM run MoE models in):

* ``tp`` — tensor parallel size of attention and of the dense layers (Megatron-LM);
* ``dp`` — data-parallel attention ranks (SGLang ``--enable-dp-attention``, vLLM
  ``--data-parallel-size`` with expert parallelism, TensorRT-LLM "attention DP"): each rank
  holds its own sequences and their KV cache and runs attention on them; the MoE layers span
  all ``tp × dp`` GPUs, and tokens reach their experts by all-to-all (DeepEP-style dispatch
  and combine). MoE models only; ``ep`` must then be ``tp × dp``;
* ``ep`` — expert parallel size: experts placed whole on ``ep`` of the stage's ``tp × dp``
  GPUs, each expert sliced ``tp × dp / ep`` ways (TensorRT-LLM ``moe_tp × moe_ep``);
* ``pp`` — pipeline stages.

Mapping engines' flags: vLLM ``-tp 8 --enable-expert-parallel`` = tp 8, ep 8; vLLM
``-dp 8 --enable-expert-parallel`` = tp 1, dp 8, ep 8; SGLang ``--tp 8 --dp 8
--enable-dp-attention --ep 8`` = tp 1, dp 8, ep 8 (SGLang's ``--tp`` counts all GPUs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tokenworks.dtypes import get_dtype
from tokenworks.errors import ConfigError
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.model.arch import ModelArch

# ASSUMPTION: a PCIe server holds up to 8 cards (the common 8-GPU PCIe server designs).
PCIE_SERVER_CARDS = 8
# Weight formats that are weight-only on most engines (AWQ/GPTQ W4A16): matmuls run in 16-bit.
WEIGHT_ONLY = {"int4"}


SPEC_METHODS = ("mtp", "eagle", "draft", "ngram")
# Mean tokens per verification step at the method's usual draft length, published on chat-like
# prompts; with the draft length they give the per-token acceptance rate used by default.
# ASSUMPTION: acceptance is the same for every drafted position (the geometric model of
# Leviathan et al., ICML 2023, arXiv:2211.17192), and a user's traffic accepts as these did.
SPEC_DEFAULTS: dict[str, tuple[int, float, str]] = {
    # DeepSeek-R1 with 3 MTP drafts: 2.82 tokens per step (TensorRT-LLM tech blog 1,
    # "Pushing Latency Boundaries: Optimizing DeepSeek-R1 Performance on NVIDIA B200 GPUs").
    "mtp": (3, 2.82, "TensorRT-LLM blog: DeepSeek-R1 on B200, MTP 3 layers, 2.82 tokens/step"),
    # gpt-oss-20b with a vanilla EAGLE-3 head and 3 drafts on MT-Bench: 2.70 tokens per step
    # (vLLM blog "P-EAGLE", 2026-03-13, table of acceptance lengths).
    "eagle": (3, 2.70, "vLLM blog P-EAGLE (2026-03-13): EAGLE-3, K=3, MT-Bench, 2.70 tokens/step"),
}


def tokens_per_step(num_tokens: int, acceptance_rate: float) -> float:
    """Expected tokens a sequence gains per verification step with ``num_tokens`` drafts each
    accepted with probability ``acceptance_rate`` until the first rejection, plus the target's
    own token: (1 − α^(k+1)) / (1 − α) (Leviathan et al. 2023, eq. 1)."""
    a, k = acceptance_rate, num_tokens
    return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)


def acceptance_from_length(num_tokens: int, length: float) -> float:
    """The per-token acceptance rate at which ``tokens_per_step`` equals ``length``."""
    lo, hi = 0.0, 1.0 - 1e-12
    for _ in range(200):  # bisection: tokens_per_step rises monotonically with the rate
        mid = 0.5 * (lo + hi)
        if tokens_per_step(num_tokens, mid) < length:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecDecode:
    """Speculative decoding: a drafter proposes ``num_tokens`` tokens per step and the target
    verifies them in one forward pass (Leviathan et al. 2023; Chen et al. 2023,
    arXiv:2302.01318). ``method``: ``mtp`` (the model's own multi-token-prediction modules,
    DeepSeek-V3 arXiv:2412.19437), ``eagle`` (a one-layer draft head on the target's hidden
    states, EAGLE-3 arXiv:2503.01840), ``draft`` (a smaller model, ``draft_model``) or
    ``ngram`` (prompt lookup on the CPU)."""

    method: str
    num_tokens: int
    acceptance_rate: float
    draft_model: str | None = None
    source: str = ""

    @property
    def tokens_per_step(self) -> float:
        return tokens_per_step(self.num_tokens, self.acceptance_rate)


def make_spec_decode(method: str, *, num_tokens: int | None = None,
                     acceptance_rate: float | None = None,
                     acceptance_length: float | None = None,
                     draft_model: str | None = None) -> SpecDecode:
    """Validate a speculative-decoding choice (``ConfigError`` naming value, rule and fix)."""
    m = str(method).strip().lower()
    if m not in SPEC_METHODS:
        raise ConfigError(f"speculative method '{method}' is not known; use one of "
                          f"{', '.join(SPEC_METHODS)}.")
    d = SPEC_DEFAULTS.get(m)
    k = num_tokens if num_tokens is not None else (d[0] if d else None)
    if k is None:
        raise ConfigError(f"speculative method {m} needs num_tokens (drafted tokens per step, "
                          f"e.g. 3 or 5).")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 32:
        raise ConfigError(f"speculative num_tokens = {k!r} must be a whole number in 1..32 "
                          f"(tokens drafted per step).")
    if acceptance_rate is not None and acceptance_length is not None:
        raise ConfigError("give the speculative acceptance_rate or acceptance_length, not both.")
    source = ""
    if acceptance_rate is not None:
        if isinstance(acceptance_rate, bool) or not isinstance(acceptance_rate, int | float) \
                or not 0.0 <= acceptance_rate < 1.0 or math.isnan(acceptance_rate):
            raise ConfigError(f"speculative acceptance_rate = {acceptance_rate!r} must be in "
                              f"[0, 1): the chance that one drafted token is accepted.")
        a = float(acceptance_rate)
        source = "given acceptance rate"
    elif acceptance_length is not None:
        if isinstance(acceptance_length, bool) or not isinstance(acceptance_length, int | float) \
                or not 1.0 <= acceptance_length < k + 1:
            raise ConfigError(f"speculative acceptance_length = {acceptance_length!r} must be in "
                              f"[1, {k + 1}): mean tokens per step with {k} drafts (the engines' "
                              f"'acceptance length' metric, the target's own token included).")
        a = acceptance_from_length(k, float(acceptance_length))
        source = f"given acceptance length {float(acceptance_length):g} at {k} drafts"
    elif d is not None:
        a = acceptance_from_length(d[0], d[1])
        source = d[2]
    else:
        raise ConfigError(f"speculative method {m} needs acceptance_rate or acceptance_length: "
                          f"how often its drafts are accepted depends on the drafter and the "
                          f"traffic (measure it with the engine's spec-decode metrics).")
    if m == "draft" and not draft_model:
        raise ConfigError("speculative method draft needs draft_model (a catalog model name or "
                          "a config.json path), e.g. llama-3.2-1b.")
    if m != "draft" and draft_model:
        raise ConfigError(f"draft_model is only used by method draft, not {m}.")
    return SpecDecode(method=m, num_tokens=k, acceptance_rate=a, draft_model=draft_model,
                      source=source)


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
    ep: int = 1  # expert parallel size (MoE only): divides num_experts and tp*dp
    dp: int = 1  # data-parallel attention ranks (MoE only; see module)
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    compute_dtype: str | None = None
    spec: SpecDecode | None = None

    @property
    def num_gpus(self) -> int:
        """Accelerators in one replica (tp × dp × pp)."""
        return self.tp * self.dp * self.pp

    @property
    def layout(self) -> str:
        """The split as the engines' flags read: "tp=8, pp=1" (+ ", dp=8, ep=8" when set)."""
        out = f"tp={self.tp}, pp={self.pp}"
        if self.dp > 1:
            out += f", dp={self.dp}"
        if self.ep > 1:
            out += f", ep={self.ep}"
        return out

    @property
    def gpus_per_stage(self) -> int:
        return self.tp * self.dp

    @property
    def moe_tp(self) -> int:
        """Ways each routed expert is sliced: the stage's GPUs over the expert-parallel size."""
        return max(self.tp * self.dp // self.ep, 1)

    @property
    def matmul_dtype(self) -> str:
        """The precision whose peak FLOP/s the linear layers run at (derived when None)."""
        if self.compute_dtype is not None:
            return get_dtype(self.compute_dtype).compute
        return derive_compute_dtype(self.accelerator, self.weights_dtype)

    @property
    def moe_group_crosses_scaleup_domain(self) -> bool:
        """True when the experts of a stage span more GPUs than one scale-up domain."""
        return self.tp * self.dp > self.accelerator.scaleup_domain_size

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
    # FP4 weights on a part without FP4 tensor cores are dequantised to 16-bit in the kernel
    # (W4A16: vLLM's Marlin/Triton MXFP4 path on Hopper, TensorRT-LLM's w4a16_mxfp4 MoE in
    # AIConfigurator 0.12.0's H100/H200 tables), not run as FP8.
    chain = {"fp4": ("fp4", "bf16", "fp16"), "fp6": ("fp6", "fp8", "bf16", "fp16"),
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


def is_weight_only(dep: Deployment) -> bool:
    """Weights stored narrower than the 16-bit matmuls that use them: dequantised in the kernel
    (AWQ/GPTQ INT4, FP4 or FP8 weights on parts without those tensor cores: Marlin W4A16/W8A16)."""
    return get_dtype(dep.weights_dtype).bits < 16 and dep.matmul_dtype in ("bf16", "fp16")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def make_deployment(
    model: ModelArch,
    accelerator: Accelerator | str,
    *,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    dp: int = 1,
    weights_dtype: str = "bf16",
    kv_dtype: str = "bf16",
    compute_dtype: str | None = None,
    spec: SpecDecode | None = None,
) -> Deployment:
    """Validate and build a ``Deployment`` (``ConfigError`` naming value, rule and fix)."""
    acc = get_accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep), ("dp", dp)):
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
    if dp > 1:
        if not model.is_moe:
            raise ConfigError(f"dp = {dp} (data-parallel attention) is for mixture-of-experts "
                              f"models, whose experts span the dp ranks; {model.name} is dense: "
                              f"run {dp} replicas instead (dp = 1).")
        if ep != tp * dp:
            raise ConfigError(f"dp = {dp} spreads the experts over all tp × dp = {tp * dp} GPUs "
                              f"of a stage: set ep = {tp * dp} (got ep = {ep}).")
    if ep > 1:
        if not model.is_moe or model.moe is None:
            raise ConfigError(f"ep = {ep} needs a mixture-of-experts model; {model.name} is "
                              f"dense. Use ep = 1.")
        if model.moe.num_experts % ep:
            raise ConfigError(f"ep = {ep} does not divide {model.name}'s "
                              f"{model.moe.num_experts} experts. Use a divisor of "
                              f"{model.moe.num_experts}.")
        if (tp * dp) % ep:
            ok = ", ".join(str(d) for d in _divisors(tp * dp)
                           if model.moe.num_experts % d == 0)
            raise ConfigError(f"ep = {ep} does not divide the tp × dp = {tp * dp} GPUs of a "
                              f"stage; experts are placed on a stage's GPUs and sliced over the "
                              f"rest. Use ep in {{{ok}}}.")
    if spec is not None and spec.method == "mtp" and model.num_mtp_layers < 1:
        raise ConfigError(f"speculative method mtp needs multi-token-prediction modules; "
                          f"{model.name} has none (DeepSeek-V3/R1, GLM-4.5 and Qwen3.5 do). "
                          f"Use eagle, a draft model or ngram.")
    w = get_dtype(weights_dtype).name
    k = get_dtype(kv_dtype).name
    c = None if compute_dtype is None else get_dtype(compute_dtype).name
    if c is not None and not acc.supports(get_dtype(c).compute):
        have = ", ".join(p for p, _ in acc.peak_flops_per_s)
        raise ConfigError(f"compute_dtype = {c} has no tensor-core rate on {acc.name} (it "
                          f"lists {have}). Pick one of those or leave it unset to derive it.")
    return Deployment(accelerator=acc, tp=tp, pp=pp, ep=ep, dp=dp, weights_dtype=w, kv_dtype=k,
                      compute_dtype=c, spec=spec)


def served_weights_dtype(arch: ModelArch) -> str:
    """The weights' format an engine serves a checkpoint in when none is asked for: the
    checkpoint's own (gpt-oss MXFP4 experts, DeepSeek/Kimi FP8 block-scaled, bf16 or fp16),
    with fp32 checkpoints served in fp16 (vLLM's ``--dtype auto``, docs "Engine Arguments")."""
    d = arch.checkpoint_weights_dtype
    return "fp16" if d == "fp32" else d
