"""Helpers for building benchmarks/data/latency_public.csv (data collection only).

Parses the text block printed by vLLM/SGLang serving benchmarks
(`vllm bench serve`, `benchmark_serving.py`, `sglang.bench_serving`) into
long-format rows, and writes the CSV with the fixed column order.
"""
import csv
import re

COLUMNS = ("row_id,source_id,source_url,source_title,source_date,source_kind,engine,engine_version,"
           "model,hf_model_id,hardware,num_gpus,tp,pp,ep,dp,weights_dtype,kv_dtype,input_tokens,"
           "output_tokens,concurrency,request_rate_per_s,num_prompts,dataset,scenario,spec_decode,"
           "metric,statistic,value,unit,notes").split(",")

# label printed by the benchmark -> (metric, statistic, unit)
_LABELS = [
    (r"Mean TTFT \(ms\)", ("ttft", "mean", "ms")),
    (r"Median TTFT \(ms\)", ("ttft", "median", "ms")),
    (r"P90 TTFT \(ms\)", ("ttft", "p90", "ms")),
    (r"P99 TTFT \(ms\)", ("ttft", "p99", "ms")),
    (r"Mean TPOT \(ms\)", ("tpot", "mean", "ms")),
    (r"Median TPOT \(ms\)", ("tpot", "median", "ms")),
    (r"P90 TPOT \(ms\)", ("tpot", "p90", "ms")),
    (r"P99 TPOT \(ms\)", ("tpot", "p99", "ms")),
    (r"Mean ITL \(ms\)", ("itl", "mean", "ms")),
    (r"Median ITL \(ms\)", ("itl", "median", "ms")),
    (r"P90 ITL \(ms\)", ("itl", "p90", "ms")),
    (r"P99 ITL \(ms\)", ("itl", "p99", "ms")),
    (r"Mean E2EL? \(ms\)", ("e2e", "mean", "ms")),
    (r"Median E2EL? \(ms\)", ("e2e", "median", "ms")),
    (r"P99 E2EL? \(ms\)", ("e2e", "p99", "ms")),
    (r"Mean E2E Latency \(ms\)", ("e2e", "mean", "ms")),
    (r"Median E2E Latency \(ms\)", ("e2e", "median", "ms")),
    (r"Request throughput \(req/s\)", ("request_throughput", "value", "req/s")),
    (r"Output token throughput \(tok/s\)", ("output_throughput", "value", "tok/s")),
    (r"Total [Tt]oken throughput \(tok/s\)", ("total_throughput", "value", "tok/s")),
]
_LABEL_RE = [(re.compile(r"^\s*" + p + r":?\s+([0-9][0-9.,]*)\s*$"), m) for p, m in _LABELS]


def parse_block(text, keep=None):
    """Return [(metric, statistic, unit, value)] from a benchmark result block.

    keep: optional set of (metric, statistic) to retain.
    """
    out = []
    for line in text.splitlines():
        for rx, m in _LABEL_RE:
            mm = rx.match(line)
            if mm:
                if keep is None or (m[0], m[1]) in keep:
                    out.append((m[0], m[1], m[2], float(mm.group(1).replace(",", ""))))
                break
    return out


def fmt(v):
    if v is None or v == "":
        return ""
    if isinstance(v, float):
        s = ("%.6g" % v) if abs(v) < 1e6 else ("%.1f" % v)
        return s
    return str(v)


class Builder:
    def __init__(self):
        self.rows = []
        self.sources = {}

    def source(self, sid, url, title, date, kind):
        self.sources[sid] = dict(source_id=sid, source_url=url, source_title=title,
                                 source_date=date, source_kind=kind)

    def add(self, sid, ctx, metric, statistic, value, unit, notes=""):
        r = dict(self.sources[sid])
        r.update({k: v for k, v in ctx.items() if k != "notes"})
        n = "; ".join(x for x in (ctx.get("notes", ""), notes) if x)
        r.update(metric=metric, statistic=statistic, value=value, unit=unit, notes=n)
        self.rows.append(r)

    def add_block(self, sid, ctx, text, keep=None, notes=""):
        items = parse_block(text, keep)
        if not items:
            raise ValueError("no metrics parsed for %s %s" % (sid, ctx))
        for metric, stat, unit, v in items:
            self.add(sid, ctx, metric, stat, v, unit, notes)
        return len(items)

    def write(self, path, prefix="L"):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            for i, r in enumerate(self.rows, 1):
                rr = {c: fmt(r.get(c, "")) for c in COLUMNS}
                rr["row_id"] = "%s%05d" % (prefix, i)
                w.writerow(rr)
        return len(self.rows)


_UNITS = {"ttft": "ms", "tpot": "ms", "itl": "ms", "e2e": "ms", "output_throughput": "tok/s",
          "total_throughput": "tok/s", "per_user_throughput": "tok/s/user",
          "request_throughput": "req/s"}
_ALIASES = {"out": "output_throughput", "tot": "total_throughput", "req": "request_throughput",
            "user": "per_user_throughput"}


def compact(spec):
    """Parse 'ttft.mean=251.04 tpot.median=25.4 out=2494.8 e2e.mean=1.2s' into metric tuples.

    metric[.statistic]=value[unit-suffix]; statistic defaults to 'value'; a trailing 's'
    on a latency value means seconds.
    """
    out = []
    for tok in spec.split():
        k, v = tok.split("=")
        metric, _, stat = k.partition(".")
        metric = _ALIASES.get(metric, metric)
        unit = _UNITS[metric]
        if v.endswith("s") and unit == "ms":
            unit, v = "s", v[:-1]
        out.append((metric, stat or "value", unit, float(v.replace(",", ""))))
    return out


def add_compact(builder, sid, ctx, spec, notes=""):
    for metric, stat, unit, v in compact(spec):
        builder.add(sid, ctx, metric, stat, v, unit, notes)
