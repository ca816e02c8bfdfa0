"""Machines without HBM-only memory: Groq LPU, Cerebras WSE-3, SambaNova SN40L.

The step-time model needs nothing new for them: capacity and bandwidth come from the memory
tier the catalog records for the part (Groq and Cerebras: on-chip SRAM; SN40L: its HBM, with
weights staged from DDR), the number of chips follows from the weights (``chips_for``), and
the terms are the same as on a GPU. What differs is which coefficient is the bottleneck, and
one coefficient per vendor is fitted on one published number and checked on the others:

* **Groq** — weights stream from 80 TB/s of SRAM, but a TSP multiplies a vector by a matrix only
  as fast as it installs the weights into its MXM arrays (ISCA 2020, "Think Fast": 4 MXM planes
  of 320×320), and a token crosses the chips of every layer's stage. Two coefficients —
  ``gemm_memory_frac`` (the weight-install rate over the SRAM bandwidth) and ``gemm_launch_s``
  (a token's time in one GEMM stage) — are fitted on Llama-2-70B's measured inter-token latency
  on 576 chips (Anyscale LLMPerf, 2024-01) and Llama-3.1-8B's published speed.
* **Cerebras** — weights stay in on-wafer SRAM (21 PB/s), which is not the limit; a token walks
  the layers laid out across the wafer. The same two coefficients are fitted on Llama-3.1-8B on
  one CS-3 (1,800 tok/s) and Llama-3.1-70B on four (450 tok/s).
* **SambaNova** — weights stream from HBM (1.6 TB/s per socket); ``gemm_memory_frac`` and the
  per-step time are fitted on Argonne's independent batch-1 measurements of Llama-3-8B and
  Llama-3-70B on 8 sockets.

With two points fitted per vendor for two coefficients, Llama-3.1-8B and 70B match by
construction; the checks are the vendors' other published numbers (other dates, other
measurers, other models). Each vendor's other published numbers are predictions; the report says how far off they are
and why where a reason is known (speculative decoding, undisclosed chip counts).
``benchmarks/calibrate.py`` writes the fitted values into data/calibration.toml; run this file
alone to print the comparison (``--write`` also updates docs/accuracy.md).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from scipy.optimize import least_squares

from doc_sections import write_section
from tokenworks.errors import TokenworksError
from tokenworks.hardware import Accelerator, get_accelerator
from tokenworks.model.arch import ModelArch
from tokenworks.model.catalog import get_model
from tokenworks.perf import Calibration, CalibrationOverride, StepCostModel, make_deployment
from tokenworks.perf.calibration import packaged_calibration
from tokenworks.perf.memory import plan_memory
from tokenworks.perf.steady import steady_state

ROOT = Path(__file__).resolve().parents[1]
ACCURACY = ROOT / "docs" / "accuracy.md"
# ASSUMPTION: hosted-API speeds are measured on ~1,000-token prompts and a few hundred output
# tokens (Artificial Analysis' standard workload); the context barely moves a batch-1 step here.
ISL, OSL = 1000, 500
# Zero-valued launch terms: a compiler-scheduled dataflow chip launches no kernels.
NO_LAUNCH = dict(gemm_launch_s=0.0, attention_launch_s=0.0, attention_per_seq_s=0.0,
                 prefill_attention_launch_s=0.0, moe_launch_s=0.0, elementwise_launch_s=0.0,
                 step_overhead_s=0.0, per_seq_overhead_s=0.0, frontend_s=0.0)
# ASSUMPTION: a hop of Groq's C2C network costs ~1 us (ISCA 2022: < 3 us end to end across
# 10,440 chips); a hop between CS-3 systems ~10 us (like a GPU pipeline send).
# ASSUMPTION: SN40L sockets reduce tensor-parallel partial sums over their peer-to-peer links
# inside the compiled dataflow graph, ~2 us each (no published figure; NCCL-like 25 us per
# all-reduce would make an 8B token take longer than Argonne measured).
VENDOR_FIXED = {
    "groq": dict(NO_LAUNCH, comm_latency_s=1e-6, p2p_latency_s=1e-6, internode_latency_s=1e-6),
    "cerebras": dict(NO_LAUNCH, p2p_latency_s=10e-6),
    "sambanova": dict(NO_LAUNCH, comm_latency_s=2e-6, internode_latency_s=2e-6),
}
# Two coefficients per vendor: the rate weights reach the matrix units (gemm_memory_frac, of
# the tier's bandwidth) and a fixed time per GEMM stage of the layer pipeline (gemm_launch_s;
# for SambaNova the per-token time, step_overhead_s).
FITTED = {"groq": ("gemm_memory_frac", "gemm_launch_s"),
          "cerebras": ("gemm_memory_frac", "gemm_launch_s"),
          "sambanova": ("gemm_memory_frac", "step_overhead_s")}
BOUNDS = {"gemm_memory_frac": (0.001, 1.0), "gemm_launch_s": (1e-8, 1e-3),
          "step_overhead_s": (1e-6, 0.05)}


@dataclass(frozen=True, slots=True)
class Case:
    vendor: str
    part: str
    model: str
    chips: int | None  # None: not disclosed (the smallest deployment that fits)
    weights: str
    batch: int
    measured_tok_s: float  # per user (output tokens/s), or see ``metric``
    metric: str  # "tpot" (1/TPOT), "e2e_total" (Argonne: (I+O)/E2E at batch 1)
    isl: int
    osl: int
    role: str  # "fit" or "check"
    rows: str  # benchmarks/data/non_hbm_public.csv row ids
    note: str = ""


CASES = (
    Case("groq", "groq-lpu", "llama-2-70b", 576, "int8", 5, 1 / 5.321e-3, "tpot", 550, 150,
         "fit", "N00004", "LLMPerf median ITL 5.32 ms at concurrency 5 (Anyscale, 2024-01)"),
    Case("groq", "groq-lpu", "llama-2-70b", 576, "int8", 1, 300, "tpot", ISL, OSL, "check",
         "N00011", "Groq's Feb 2024 figure (newer software than the fit point)"),
    Case("groq", "groq-lpu", "llama-3.1-70b", 576, "int8", 1, 250, "tpot", ISL, OSL, "check",
         "N00023", "Artificial Analysis 2024-09; chips not disclosed (576 assumed)"),
    Case("groq", "groq-lpu", "llama-3.3-70b", 576, "int8", 1, 280, "tpot", ISL, OSL, "check",
         "N00071", "GroqCloud docs; chips not disclosed (576 assumed)"),
    Case("groq", "groq-lpu", "llama-3.1-8b", None, "int8", 1, 751, "tpot", ISL, OSL, "fit",
         "N00024", "Artificial Analysis 2024-09; chips not disclosed (smallest that fits)"),
    Case("groq", "groq-lpu", "llama-2-7b", None, "int8", 1, 750, "tpot", ISL, OSL, "check",
         "N00012", "Groq Feb 2024; chips not disclosed (smallest that fits)"),
    Case("cerebras", "cerebras-wse3", "llama-3.1-8b", 1, "bf16", 1, 1800, "tpot", ISL, OSL,
         "fit", "N00014", "Cerebras launch, 1 CS-3, 16-bit weights"),
    Case("cerebras", "cerebras-wse3", "llama-3.1-8b", 1, "bf16", 1, 1837, "tpot", ISL, OSL,
         "check", "N00022", "Artificial Analysis 2024-09"),
    Case("cerebras", "cerebras-wse3", "llama-3.1-70b", 4, "bf16", 1, 450, "tpot", ISL, OSL,
         "fit", "N00015", "Cerebras launch, 4 CS-3"),
    Case("cerebras", "cerebras-wse3", "llama-3.1-70b", 4, "bf16", 1, 445, "tpot", ISL, OSL,
         "check", "N00021", "Artificial Analysis 2024-09"),
    Case("cerebras", "cerebras-wse3", "llama-3.1-405b", None, "bf16", 1, 969, "tpot", ISL, OSL,
         "check", "N00016", "2024-11; systems not disclosed (smallest that fits)"),
    Case("sambanova", "sambanova-sn40l", "llama-3-8b", 8, "bf16", 1, 1276.1, "e2e_total",
         256, 256, "fit", "N00031", "Argonne, 8 sockets, batch 1"),
    Case("sambanova", "sambanova-sn40l", "llama-3-8b", 8, "bf16", 1, 1292.7, "e2e_total",
         1024, 1024, "fit", "N00039", "Argonne, 8 sockets, batch 1"),
    Case("sambanova", "sambanova-sn40l", "llama-3-70b", 8, "bf16", 1, 166.3, "e2e_total",
         256, 256, "fit", "N00051", "Argonne, 8 sockets, batch 1"),
    Case("sambanova", "sambanova-sn40l", "llama-3-70b", 8, "bf16", 1, 172.2, "e2e_total",
         1024, 1024, "fit", "N00059", "Argonne, 8 sockets, batch 1"),
    Case("sambanova", "sambanova-sn40l", "llama-3-8b", 16, "bf16", 1, 1000, "tpot", ISL, OSL,
         "check", "N00073", "SambaNova 2024-05, 16 chips"),
    Case("sambanova", "sambanova-sn40l", "llama-3.1-8b", 16, "bf16", 1, 1042, "tpot", ISL, OSL,
         "check", "N00020", "Artificial Analysis 2024-09; 16 sockets assumed"),
    Case("sambanova", "sambanova-sn40l", "llama-3.1-70b", 16, "bf16", 1, 457, "tpot", ISL, OSL,
         "check", "N00019", "Artificial Analysis 2024-09; sockets not disclosed (16 assumed)"),
    Case("sambanova", "sambanova-sn40l", "llama-3.1-405b", 16, "bf16", 1, 129, "tpot", ISL, OSL,
         "check", "N00018", "Artificial Analysis 2024-09; one 16-socket node"),
)


def chips_for(model: ModelArch, acc: Accelerator, weights: str, seq_tokens: int,
              chips: int | None) -> tuple[int, int]:
    """(tp, pp) of the deployment: ``chips`` as published, else the smallest that fits.

    TP fills a scale-up group up to 8 (a Groq node; an SN40L node); Cerebras runs one wafer per
    pipeline stage (tp = 1). With a chip count, pp = chips / tp.
    """
    tp_max = 1 if acc.kind == "wafer" else min(8, acc.scaleup_domain_size)
    heads = model.num_attention_heads
    tp = max(t for t in (1, 2, 4, 8, 16) if t <= tp_max and heads % t == 0
             and (model.num_kv_heads % t == 0 or t % model.num_kv_heads == 0))
    if acc.vendor == "sambanova" and chips is not None:
        tp = min(chips, acc.scaleup_domain_size)  # ASSUMPTION: the whole node as one TP group
        return tp, max(chips // tp, 1)
    if chips is not None:
        return tp, max(chips // tp, 1)
    for pp in range(1, model.num_layers + 1):
        dep = make_deployment(model, acc, tp=tp, pp=pp, weights_dtype=weights,
                              kv_dtype="bf16" if weights == "bf16" else "fp8")
        try:
            plan_memory(model, dep, gpu_memory_utilization_frac=0.95,
                        max_seq_len_tokens=seq_tokens, max_num_batched_tokens=512,
                        max_num_seqs=16)
        except TokenworksError:
            continue
        return tp, pp
    raise TokenworksError(f"{model.name} does not fit on {acc.name} at {weights}")


def predict(case: Case, cal: Calibration) -> float:
    """The case's quantity (output tok/s per user, or Argonne's (I+O)/E2E)."""
    m, acc = get_model(case.model), get_accelerator(case.part)
    tp, pp = chips_for(m, acc, case.weights, case.isl + case.osl, case.chips)
    dep = make_deployment(m, acc, tp=tp, pp=pp, weights_dtype=case.weights,
                          kv_dtype="bf16" if case.weights == "bf16" else "fp8")
    cost = StepCostModel(m, dep, cal)
    ss = steady_state(cost, batch=case.batch, input_tokens=case.isl, output_tokens=case.osl,
                      max_num_batched_tokens=max(case.isl, 512), frontend=False)
    if case.metric == "e2e_total":
        return (case.isl + case.osl) / ss.e2e_s
    return 1.0 / ss.step_time_s


def vendor_calibration(base: Calibration, vendor: str, values: dict[str, float]) -> Calibration:
    ov = CalibrationOverride(match=f"vendor:{vendor}", source="", **{**VENDOR_FIXED[vendor],
                                                                     **values})
    return replace(base, overrides=(*base.overrides, ov))


def fit_vendor(vendor: str, base: Calibration) -> dict[str, float]:
    names = FITTED[vendor]
    cases = [c for c in CASES if c.vendor == vendor and c.role == "fit"]
    lo = [math.log(BOUNDS[n][0]) for n in names]
    hi = [math.log(BOUNDS[n][1]) for n in names]

    def res(x):
        cal = vendor_calibration(base, vendor, {n: math.exp(v) for n, v in zip(names, x,
                                                                               strict=True)})
        return [math.log(predict(c, cal) / c.measured_tok_s) for c in cases]

    x0 = [math.log(0.05) if n == "gemm_memory_frac" else math.log(1e-5) for n in names]
    sol = least_squares(res, x0, bounds=(lo, hi))
    return {n: float(f"{math.exp(v):.4g}") for n, v in zip(names, sol.x, strict=True)}


def vendor_overrides(base: Calibration) -> list[CalibrationOverride]:
    """The fitted vendor overrides for data/calibration.toml."""
    out = []
    for vendor in FITTED:
        vals = fit_vendor(vendor, base)
        fit_rows = ", ".join(c.rows for c in CASES if c.vendor == vendor and c.role == "fit")
        out.append(CalibrationOverride(
            match=f"vendor:{vendor}", **{**VENDOR_FIXED[vendor], **vals},
            source=f"benchmarks/non_hbm.py: {', '.join(FITTED[vendor])} fitted on "
                   f"benchmarks/data/non_hbm_public.csv rows {fit_rows}; other terms as the "
                   "module states"))
    return out


def report(cal: Calibration) -> str:
    lines = ["## Machines without HBM (Groq, Cerebras, SambaNova)", "",
             "Generated by `python benchmarks/non_hbm.py --write` (method in its docstring). "
             "Capacity and bandwidth come from the tier that holds the weights (Groq, Cerebras: "
             "on-chip SRAM; SN40L: HBM), the chip count from the weights when the vendor does not "
             "say, and the terms are the GPU model's. Two coefficients per vendor are fitted on "
             "the rows marked *fit* (so those match by construction); every other row is a "
             "prediction. Per-user output tokens/s (Argonne rows: (input + output) / E2E at "
             "batch 1).", "",
             "| vendor | model | chips (tp×pp) | weights | role | published | predicted | error "
             "| row | note |", "|---|---|---|---|---|---:|---:|---:|---|---|"]
    for c in CASES:
        m, acc = get_model(c.model), get_accelerator(c.part)
        tp, pp = chips_for(m, acc, c.weights, c.isl + c.osl, c.chips)
        v = predict(c, cal)
        lines.append(f"| {c.vendor} | {c.model} | {tp * pp} ({tp}×{pp}) | {c.weights} | "
                     f"{c.role} | {c.measured_tok_s:,.0f} | {v:,.0f} | "
                     f"{(v / c.measured_tok_s - 1) * 100:+.0f}% | {c.rows} | {c.note} |")
    lines += ["", "Where the predictions miss, the published setups differ from what the model "
              "is given: SambaNova's cloud figures for 70B and 405B are 3-4x what 16 sockets "
              "can stream at 16 bits from HBM (the 405B endpoint runs speculative decoding with "
              "an 8B draft per SambaNova's MLSys 2026 paper; the 70B socket count is not "
              "disclosed); Cerebras's 405B at 969 tok/s would need the ~20 wafers holding it "
              "to work on each token in parallel rather than as a pipeline of layers, which "
              "tokenworks does not model for wafers (tp = 1 per system); Groq's Feb 2024 "
              "Llama-2-70B figure came after software updates the Jan 2024 fit point predates.",
              "", "Fitted: " + "; ".join(
        f"{o.match}: " + ", ".join(f"{n} = {getattr(o, n):.4g}" for n in FITTED[o.match[7:]])
        for o in cal.overrides if o.match.startswith("vendor:") and o.match[7:] in FITTED)
        + "."]
    return "\n".join(lines) + "\n"


BEGIN = "<!-- BEGIN non-HBM section: generated by benchmarks/non_hbm.py -->"
END = "<!-- END non-HBM section -->"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="update docs/accuracy.md")
    args = ap.parse_args()
    text = report(packaged_calibration())
    print(text)
    if args.write:
        write_section(ACCURACY, BEGIN, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
