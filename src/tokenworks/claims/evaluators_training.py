"""Claim evaluators for training compute, scaling laws, and hardware/system specifications.

Training compute uses ``tokenworks.model.training_flops`` (6·N·D) for catalog models; for
models outside the catalog (GPT-4, GPT-5) the claim's params carry the published or estimated
N (active parameters) and D with a source note, and the same 6·N·D rule is applied.
Units: FLOP, seconds, W, USD, bytes; ratios plain.
"""

from __future__ import annotations

from tokenworks.claims.registry import Computed, Params, evaluator
from tokenworks.errors import CatalogError
from tokenworks.hardware import get_accelerator
from tokenworks.model import get_model, training_flops
from tokenworks.units import DAY, GB, GIB, HOUR, MILLION, PETA, TB, TERA, YEAR


def train_flops(p: Params, prefix: str = "") -> tuple[float, str]:
    """6·N·D for ``{prefix}model`` from the catalog, or ``{prefix}active_params`` as published;
    ``{prefix}flops`` takes a source's own compute figure when N and D are unpublished."""
    if p.has(f"{prefix}flops"):
        c = p.float(f"{prefix}flops")
        return c, f"{c:.3g} FLOP (the source's own figure; N and D unpublished)"
    tokens = p.float(f"{prefix}tokens")
    if p.has(f"{prefix}model"):
        arch = get_model(p.str(f"{prefix}model"))
        c = training_flops(arch, tokens)
        return c, f"6·N·D for {arch.name} (N from its config) × {tokens:.3g} tokens = {c:.3g} FLOP"
    n = p.float(f"{prefix}active_params")
    # Kaplan et al. 2020 (arXiv:2001.08361) eq. 2.1: training compute C ≈ 6·N·D.
    c = 6.0 * n * tokens
    return c, f"6 × {n:.3g} active params × {tokens:.3g} tokens = {c:.3g} FLOP"


@evaluator("training_flops")
def training_flops_eval(p: Params) -> Computed:
    c, w = train_flops(p)
    return Computed(value=c, working=w)


@evaluator("training_flops_reduction")
def training_flops_reduction(p: Params) -> Computed:
    """1 − C_a / C_b: how much less compute run a used than run b (prefixes ``a_``, ``b_``)."""
    ca, wa = train_flops(p, "a_")
    cb, wb = train_flops(p, "b_")
    return Computed(value=1.0 - ca / cb, working=f"1 − ({wa}) ÷ ({wb}) = {1 - ca / cb:.1%}")


def _sustained(p: Params) -> tuple[float, str]:
    acc = get_accelerator(p.str("hardware"))
    prec = p.str("precision")
    mfu = p.float("mfu_frac")
    peak = acc.dense_flops_per_s(prec)
    return peak * mfu, f"{acc.name} {peak / TERA:,.0f} TFLOPS dense {prec} × MFU {mfu:.0%}"


@evaluator("training_time")
def training_time(p: Params) -> Computed:
    """Wall-clock seconds: C ÷ (num_gpus × peak × MFU)."""
    c, w = train_flops(p)
    n = p.int("num_gpus")
    rate, wr = _sustained(p)
    t = c / (n * rate)
    return Computed(value=t, working=f"{w}; ÷ ({n:,} × {wr}) = {t / DAY:.1f} days")


@evaluator("training_mfu")
def training_mfu(p: Params) -> Computed:
    """MFU implied by published GPU-hours: C ÷ (GPU-hours × 3600 × dense peak)."""
    c, w = train_flops(p)
    acc = get_accelerator(p.str("hardware"))
    peak = acc.dense_flops_per_s(p.str("precision"))
    gpu_h = p.float("gpu_hours")
    mfu = c / (gpu_h * HOUR * peak)
    return Computed(value=mfu, working=(
        f"{w}; ÷ ({gpu_h / MILLION:.2f} M GPU-hours × 3600 × {peak / TERA:,.0f} TFLOPS) = "
        f"{mfu:.1%}"))


@evaluator("training_cost")
def training_cost(p: Params) -> Computed:
    """USD = C ÷ sustained FLOP/s per GPU ÷ 3600 × $/GPU-hour.

    The sustained rate is ``sustained_tflops`` if given (a source's own figure), else the
    catalog peak of ``hardware`` × ``mfu_frac``.
    """
    c, w = train_flops(p)
    if p.has("sustained_tflops"):
        rate = p.float("sustained_tflops") * TERA
        wr = f"{rate / TERA:g} TFLOPS sustained per GPU"
    else:
        rate, wr = _sustained(p)
    price = p.float("usd_per_gpu_hour")
    gpu_h = c / rate / HOUR
    usd = gpu_h * price
    return Computed(value=usd, working=(
        f"{w}; ÷ {wr} = {gpu_h / MILLION:.2f} M GPU-hours × ${price:.2f}/h = "
        f"${usd / MILLION:.2f} M"))


@evaluator("chinchilla_tokens_per_param")
def chinchilla_tokens_per_param(p: Params) -> Computed:
    """Compute-optimal D/N from a parametric loss fit L = E + A/N^α + B/D^β at budget C.

    Minimising L subject to C = 6·N·D gives N* = G·(C/6)^(β/(α+β)), G = (αA/(βB))^(1/(α+β))
    (Hoffmann et al. 2022, arXiv:2203.15556, eq. 4; coefficients from the params).
    """
    a, b = p.float("A"), p.float("B")
    alpha, beta = p.float("alpha"), p.float("beta")
    c = p.float("compute_flops")
    g = (alpha * a / (beta * b)) ** (1.0 / (alpha + beta))
    n = g * (c / 6.0) ** (beta / (alpha + beta))
    d = c / (6.0 * n)
    return Computed(value=d / n, working=(
        f"fit A={a:g}, B={b:g}, α={alpha:g}, β={beta:g} at C = {c:.3g} FLOP: "
        f"N* = {n / 1e9:.1f} B params, D* = {d / 1e12:.2f} T tokens → {d / n:.1f} tokens/param"))


@evaluator("compute_optimal_flops")
def compute_optimal_flops(p: Params) -> Computed:
    """6·N·(r·N): compute to train N parameters at r tokens per parameter."""
    n = p.float("active_params")
    r = p.float("tokens_per_param")
    c = 6.0 * n * r * n
    return Computed(value=c, working=(
        f"6 × {n:.3g} params × ({r:g} × {n:.3g}) tokens = {c:.3g} FLOP"))


@evaluator("device_years")
def device_years(p: Params) -> Computed:
    """Devices needed to deliver ``flops`` in one year at their catalog peak."""
    acc = get_accelerator(p.str("hardware"))
    prec = p.str("precision")
    c = p.float("flops")
    rate = acc.dense_flops_per_s(prec)
    n = c / (rate * YEAR)
    return Computed(value=n, working=(
        f"{c:.3g} FLOP ÷ ({acc.name} {rate / TERA:g} TOPS {prec} × 3.15e7 s/year) = "
        f"{n:,.0f} devices for one year at 100% of peak"))


def _spec(hardware: str, field: str) -> tuple[float, str]:
    acc = get_accelerator(hardware)
    if field.startswith("dense_flops:"):
        prec = field.split(":", 1)[1]
        v = acc.dense_flops_per_s(prec)
        return v, f"{acc.display_name}: dense {prec} {v / PETA:.2f} PFLOPS"
    if field.startswith("matmul_flops:"):
        # A format without its own tensor-core rate runs at the next wider one's (catalog rule).
        prec = field.split(":", 1)[1]
        v = acc.matmul_flops_per_s(prec)
        return v, f"{acc.display_name}: {prec} matmuls at {v / PETA:.3g} PFLOPS"
    if field.startswith("flops_per_w:"):
        prec = field.split(":", 1)[1]
        v = acc.matmul_flops_per_s(prec) / acc.tdp_w
        return v, (f"{acc.display_name}: {prec} matmuls {acc.matmul_flops_per_s(prec) / TERA:,.0f} "
                   f"TFLOPS ÷ {acc.tdp_w:.0f} W = {v / TERA:.2f} TFLOPS/W")
    if field == "memory_bytes":
        return acc.memory_bytes, (f"{acc.display_name}: {acc.memory_bytes / GIB:.0f} GiB "
                                  f"(the vendor's 'GB') = {acc.memory_bytes / GB:.0f} GB")
    if field == "memory_bytes_per_s":
        return acc.memory_bytes_per_s, (f"{acc.display_name}: "
                                        f"{acc.memory_bytes_per_s / TB:.2f} TB/s")
    if field == "tdp_w":
        return acc.tdp_w, f"{acc.display_name}: TDP {acc.tdp_w:.0f} W"
    if field == "scaleup_bidirectional_bytes_per_s":
        if acc.scaleup_bytes_per_s is None:
            raise CatalogError(f"{acc.name} has no scale-up bandwidth in the catalog.")
        v = 2.0 * acc.scaleup_bytes_per_s
        return v, (f"{acc.display_name}: {acc.scaleup_tech} {acc.scaleup_bytes_per_s / GB:.0f} "
                   f"GB/s each way × 2 = {v / GB:.0f} GB/s")
    raise CatalogError(f"accelerator field '{field}' is not known; use dense_flops:<precision>, "
                       f"matmul_flops:<precision>, flops_per_w:<precision>, memory_bytes, memory_bytes_per_s, tdp_w, "
                       f"scaleup_bidirectional_bytes_per_s.")


@evaluator("accelerator_spec")
def accelerator_spec(p: Params) -> Computed:
    v, w = _spec(p.str("hardware"), p.str("field"))
    return Computed(value=v, working=f"catalog: {w}")


@evaluator("accelerator_spec_ratio")
def accelerator_spec_ratio(p: Params) -> Computed:
    field = p.str("field")
    va, wa = _spec(p.str("hardware"), field)
    vb, wb = _spec(p.str("base_hardware"), field)
    return Computed(value=va / vb, working=f"catalog: {wa} ÷ {wb} = {va / vb:.2f}×")
