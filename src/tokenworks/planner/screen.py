"""Analytic screening of the whole search space, as numpy columns (one row per candidate).

For every runnable replica choice (``space.pool_choices``) and scheduler setting, the curves
of ``analytic`` give the largest request rate one *unit* serves within every SLO target and
which constraint stops it from serving more (the binding constraint). Aggregated units are one
replica; a disaggregated unit pairs ``x`` prefill replicas with ``y`` decode replicas of any
two choices sharing a KV format, evaluated for every ratio at once by broadcasting. Rows are
then sized to the demand and priced (``rank.size_and_price``). Units: requests/s, s, USD/h, W.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from tokenworks.errors import InfeasibleError
from tokenworks.perf.step import StepCostModel
from tokenworks.planner import analytic as an
from tokenworks.planner.rank import size_and_price
from tokenworks.planner.space import Pruning, ValidPool, pool_choices
from tokenworks.planner.spec import Candidate, PlanSpec

__all__ = ["CAPACITY_LIMITS", "ScreenTable", "screen"]

# Binding-constraint codes of the ``binding`` column: an SLO target "<metric> <pct>", or one
# of the capacity limits below.
CAPACITY_LIMITS = ("kv capacity", "max_num_seqs", "token budget", "prefill queue")


@dataclass(slots=True)
class ScreenTable:
    """Screened candidates: ``columns`` (numpy, one row each), the replica choices the rows
    index into, and the labels of the ``binding`` codes."""

    pools: list[ValidPool]
    columns: dict[str, np.ndarray]
    bindings: list[str]
    spec: PlanSpec

    @property
    def num_rows(self) -> int:
        return len(self.columns["mode"])

    def candidate(self, row: int) -> Candidate:
        c = self.columns
        s = self.spec.space
        agg = int(c["mode"][row]) == 0
        dec = self.pools[int(c["decode_pool"][row])].choice
        pre = None if agg else self.pools[int(c["prefill_pool"][row])].choice
        return Candidate(
            mode="aggregated" if agg else "disaggregated", decode=dec, prefill=pre,
            num_prefill=0 if agg else int(c["num_prefill"][row]),
            num_decode=1 if agg else int(c["num_decode"][row]),
            max_num_batched_tokens=int(c["mbt"][row]), max_num_seqs=int(c["mns"][row]),
            prefix_cache=bool(c["prefix_cache"][row]),
            kv_tiers=s.kv_tiers[int(c["kv_tiers"][row])], router=s.routers[int(c["router"][row])])


def _binding_code(labels: list[str], label: str) -> int:
    if label not in labels:
        labels.append(label)
    return labels.index(label)


def _agg_rows(spec: PlanSpec, pools: list[ValidPool], costs: list[StepCostModel],
              labels: list[str]) -> list[dict[str, np.ndarray]]:
    s = spec.space
    rows: list[dict] = []
    for (pi, vp), mbt, prefix in itertools.product(enumerate(pools), s.max_num_batched_tokens,
                                                   s.prefix_cache):
        sh = an.shape(spec.demand, prefix_cache=prefix)
        kv_max = max(vp.memory[(mbt, m)].max_concurrent_sequences for m in s.max_num_seqs)
        top = min(max(s.max_num_seqs), kv_max)
        curve = an.aggregated_curve(costs[pi], sh, mbt=mbt, max_batch=top)
        lat = [(t, curve.latency(t, sh)) for t in spec.slo]
        slo_ok = np.ones(len(curve.batch), bool)
        for t, v in lat:
            slo_ok &= v <= t.limit_s
        for mns in s.max_num_seqs:
            kv = vp.memory[(mbt, mns)].max_concurrent_sequences
            cap = min(mns, kv)
            within = curve.batch <= cap
            ok = within & slo_ok & curve.budget_ok
            if ok.any():
                k = int(np.flatnonzero(ok)[np.argmax(curve.rate_per_s[ok])])
                rate, nxt = float(curve.rate_per_s[k]), k + 1
            else:
                k, rate, nxt = 0, 0.0, 0
            if nxt < len(curve.batch) and curve.batch[nxt] <= cap:
                fails = [t.label for t, v in lat if v[nxt] > t.limit_s]
                why = fails[0] if fails else ("token budget" if not curve.budget_ok[nxt]
                                              else "prefill queue")
            else:
                why = "kv capacity" if kv <= mns else "max_num_seqs"
            # How far the best batch-1 point is from the SLO (> 1: no batch meets it).
            worst = max(float(v[0]) / t.limit_s for t, v in lat)
            p50 = curve.ttft_s["p50"][k]
            rows.append(dict(mode=0, decode_pool=pi, prefill_pool=-1, num_prefill=0,
                             num_decode=1, mbt=mbt, mns=mns, prefix_cache=prefix,
                             rate_per_s=rate, batch=float(curve.batch[k]) if rate else 0.0,
                             tpot_s=float(curve.tpot_s[k]), ttft_s=float(p50),
                             binding=_binding_code(labels, why), slo_ratio_at_b1=worst))
    return rows


def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    if not rows:
        return {}
    return {k: np.asarray([r[k] for r in rows]) for k in rows[0]}


def _disagg_columns(spec: PlanSpec, pre: list[tuple[int, ValidPool]],
                    dec: list[tuple[int, ValidPool]], costs: dict[int, StepCostModel],
                    labels: list[str]) -> dict[str, np.ndarray]:
    """Every (prefill choice, decode choice, ratio, mbt, mns, prefix) with matching KV."""
    s = spec.space
    ratios = np.asarray(s.pd_ratios, float)  # (R, 2)
    out: list[dict[str, np.ndarray]] = []
    for mbt, mns, prefix in itertools.product(s.max_num_batched_tokens, s.max_num_seqs,
                                              s.prefix_cache):
        sh = an.shape(spec.demand, prefix_cache=prefix)
        pts = []
        for pi, vp in pre:
            link = an.kv_link_bytes_per_s(vp.choice.accelerator, vp.choice.num_gpus)
            if link is None:
                continue
            pts.append((pi, vp, an.prefill_point(costs[pi], sh, mbt=mbt, link_bytes_per_s=link,
                                                 kv_dtype=vp.choice.kv_dtype)))
        for qi, vq in dec:
            cap = min(mns, vq.memory[(mbt, mns)].max_concurrent_sequences, mbt)
            curve = an.decode_curve(costs[qi], sh, max_batch=cap)
            match = [(pi, pt) for pi, vp, pt in pts if vp.choice.kv_dtype == vq.choice.kv_dtype]
            if not match:
                continue
            n = len(match)
            mu = np.asarray([pt.prompts_per_s for _, pt in match])
            # Decode: the largest batch whose TPOT meets every TPOT/E2E target.
            limit = np.full(n, np.inf)
            for t in spec.slo:
                m = an.TPOT_MULT[t.percentile]
                if t.metric == "tpot":
                    limit = np.minimum(limit, t.limit_s / m)
                elif t.metric == "e2e":
                    head = np.asarray([pt.service_s[t.percentile] + pt.transfer_s[t.percentile]
                                       for _, pt in match])
                    limit = np.minimum(limit, (t.limit_s - head)
                                       / (m * max(sh.output_at[t.percentile] - 1, 1.0)))
            idx = np.searchsorted(curve.tpot_s, limit, side="right") - 1
            has = idx >= 0
            j = np.maximum(idx, 0)
            dec_rate = np.where(has, curve.rate_per_s[j], 0.0)
            tpot = curve.tpot_s[j]
            # Prefill: the utilisation that keeps each TTFT/E2E target.
            util = np.full(n, an.MAX_UTILISATION_FRAC)
            for t in spec.slo:
                if t.metric == "tpot":
                    continue
                p = t.percentile
                head = np.asarray([pt.service_s[p] + pt.transfer_s[p] for _, pt in match])
                budget = t.limit_s - head
                if t.metric == "e2e":
                    budget = budget - (sh.output_at[p] - 1) * tpot * an.TPOT_MULT[p]
                a = budget * mu / an.WAIT_MULT[p]
                util = np.minimum(util, np.where(a > 0, 2 * a / (1 + 2 * a), 0.0))
            pre_rate = mu * util  # per prefill replica
            unit = np.minimum(ratios[None, :, 0] * pre_rate[:, None],
                              ratios[None, :, 1] * dec_rate[:, None])  # (n, R)
            pre_binds = ratios[None, :, 0] * pre_rate[:, None] <= ratios[None, :, 1] * dec_rate[:, None]
            dec_why = "kv capacity" if cap < mns else "max_num_seqs"
            if np.isfinite(limit).any():
                tl = next(t.label for t in spec.slo if t.metric in ("tpot", "e2e"))
                dec_why_arr = np.where(idx < len(curve.tpot_s) - 1, _binding_code(labels, tl),
                                       _binding_code(labels, dec_why))
            else:
                dec_why_arr = np.full(n, _binding_code(labels, dec_why))
            pre_label = next((t.label for t in spec.slo if t.metric in ("ttft", "e2e")),
                             "prefill queue")
            binding = np.where(pre_binds, _binding_code(labels, pre_label), dec_why_arr[:, None])
            r = len(ratios)
            ttft = np.asarray([pt.service_s["p50"] + pt.transfer_s["p50"] for _, pt in match])
            worst = np.full(n, -np.inf)
            for t in spec.slo:
                p = t.percentile
                first = {"ttft": ttft, "tpot": np.full(n, curve.tpot_s[0] * an.TPOT_MULT[p]),
                         "e2e": ttft + curve.tpot_s[0] * (sh.output_at[p] - 1)}[t.metric]
                worst = np.maximum(worst, first / t.limit_s)
            out.append(dict(
                mode=np.ones(n * r, int), decode_pool=np.full(n * r, qi),
                prefill_pool=np.repeat([pi for pi, _ in match], r),
                num_prefill=np.tile(ratios[:, 0], n).astype(int),
                num_decode=np.tile(ratios[:, 1], n).astype(int), mbt=np.full(n * r, mbt),
                mns=np.full(n * r, mns), prefix_cache=np.full(n * r, prefix),
                rate_per_s=unit.ravel(), batch=np.repeat(np.where(has, j + 1.0, 0.0), r),
                tpot_s=np.repeat(tpot, r), ttft_s=np.repeat(ttft, r),
                binding=binding.ravel(), slo_ratio_at_b1=np.repeat(worst, r)))
    if not out:
        return {}
    return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


def screen(spec: PlanSpec) -> tuple[ScreenTable, Pruning]:
    """All candidates of ``spec.space``, screened analytically (see module docstring)."""
    s = spec.space
    pruning = Pruning()
    hw = tuple(dict.fromkeys((*s.hardware, *s.prefill_hardware)))
    pools = pool_choices(spec, hw, pruning)
    if not pools:
        raise InfeasibleError(pruning.why_empty("replica that can run")
                              + " Widen the space: more GPUs per replica (tp), narrower "
                              "weights (fp8), or larger-memory parts.")
    costs = {i: StepCostModel(spec.model, vp.deployment, spec.calibration,
                           engine=spec.engine)
             for i, vp in enumerate(pools)}
    labels = [t.label for t in spec.slo] + list(CAPACITY_LIMITS)
    parts = []
    if "aggregated" in s.modes:
        serve = [i for i, vp in enumerate(pools) if vp.choice.accelerator in s.hardware]
        parts.append(_columns(_agg_rows(spec, [pools[i] for i in serve],
                                        [costs[i] for i in serve], labels)))
        if parts[-1]:
            parts[-1]["decode_pool"] = np.asarray(serve)[parts[-1]["decode_pool"]]
    if "disaggregated" in s.modes:
        pre_hw = s.prefill_hardware or s.hardware
        pre = [(i, vp) for i, vp in enumerate(pools) if vp.choice.accelerator in pre_hw]
        dec = [(i, vp) for i, vp in enumerate(pools) if vp.choice.accelerator in s.hardware]
        parts.append(_disagg_columns(spec, pre, dec, costs, labels))
    parts = [p for p in parts if p]
    if not parts:
        raise InfeasibleError("the search space has no candidate: no disaggregated pair shares "
                              "a KV format and a KV link. Add 'aggregated' to modes or give "
                              "prefill and decode pools the same kv dtype.")
    cols = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
    n = len(cols["mode"])
    # Routers and KV tiers do not change the analytic answer: each row stands for every
    # combination (the simulator tells them apart).
    reps = len(s.routers) * len(s.kv_tiers)
    cols = {k: np.repeat(v, reps) for k, v in cols.items()}
    cols["router"] = np.tile(np.repeat(np.arange(len(s.routers)), len(s.kv_tiers)), n)
    cols["kv_tiers"] = np.tile(np.arange(len(s.kv_tiers)), n * len(s.routers))
    return ScreenTable(pools=pools, columns=cols, bindings=labels, spec=spec), pruning


def price_screen(spec: PlanSpec, table: ScreenTable) -> dict[str, np.ndarray]:
    """``size_and_price`` over every screened row."""
    c = table.columns
    per_pool = [(vp.choice.num_gpus, spec.price(vp.choice.accelerator)) for vp in table.pools]
    g = np.asarray([n for n, _ in per_pool], float)
    usd = np.asarray([n * p.usd_per_gpu_hour for n, p in per_pool])
    pw = np.asarray([n * p.power_w for n, p in per_pool])
    cap = np.asarray([n * (p.capex_usd if p.capex_usd is not None else np.nan)
                      for n, p in per_pool])
    dec, pre = c["decode_pool"], c["prefill_pool"]
    has_pre = pre >= 0
    pre_i = np.where(has_pre, pre, 0)

    def unit(x: np.ndarray) -> np.ndarray:
        return c["num_decode"] * x[dec] + np.where(has_pre, c["num_prefill"] * x[pre_i], 0.0)

    return size_and_price(spec, rate_per_s=c["rate_per_s"], unit_gpus=unit(g),
                          unit_usd_per_hour=unit(usd), unit_power_w=unit(pw),
                          unit_capex_usd=unit(cap), tpot_s=c["tpot_s"])
