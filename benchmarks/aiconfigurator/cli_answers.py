"""Ask AIConfigurator's own CLI the comparison questions and record its answers.

Writes ``answers.csv`` (long format: question, gpu, config, metric, value, unit,
command) next to this file. Each row's ``command`` is the exact command that
produced it (``--save-dir OUT`` stands for a scratch directory).

Questions (see README.md):
  6a  Llama-3.1-70B BF16, 4x H100 SXM TP4, batch 32, ISL 1500 / OSL 300:
      ``estimate`` in agg (in-flight batching) and static modes, per backend.
  6b  Llama-3.1-70B BF16 and FP8, ISL 1500 / OSL 300, TTFT <= 1000 ms,
      TPOT <= 30 ms, 8 GPUs, H100 SXM and H200: ``default`` (agg vs disagg
      search), best configurations.
  6c  static-batch TPOT for Llama-3.1-8B TP1/TP2 and Llama-3.1-70B TP2/TP4/TP8,
      batch 1/8/32/64, H100 SXM and H200, bf16 and fp8.

Usage::

    /work/venv-aic/bin/python benchmarks/aiconfigurator/cli_answers.py [--only 6a,6b,6c] [--logs DIR]

Skips with a message (exit 0) when aiconfigurator is not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _aic

ISL, OSL = 1500, 300
M70 = "meta-llama/Meta-Llama-3.1-70B"
M8 = "meta-llama/Meta-Llama-3.1-8B"
M70_FP8 = "nvidia/Llama-3.1-70B-Instruct-FP8"  # ships in aiconfigurator_core/model_configs
# fp8 for the static sweeps = what AIConfigurator resolves the NVIDIA FP8
# checkpoint to (fp8 per-tensor static weights+activations, fp8 KV cache, fp8 FMHA).
FP8_FLAGS = ["--gemm-quant-mode", "fp8_static", "--kvcache-quant-mode", "fp8", "--fmha-quant-mode", "fp8"]
GPU_LABEL = {"h100_sxm": "h100-sxm", "h200_sxm": "h200", "b200_sxm": "b200", "gb200": "gb200"}

BOX_METRICS = {
    # label in the estimate summary box -> (metric name, unit)
    "TTFT": ("ttft", "ms"),
    "TPOT": ("tpot", "ms"),
    "Request Latency": ("request_latency", "ms"),
    "Generation lat.": ("generation_latency", "ms"),
    "tokens/s": ("tokens_per_s", "tok/s"),
    "tokens/s/gpu": ("tokens_per_s_per_gpu", "tok/s/gpu"),
    "tokens/s/user": ("tokens_per_s_per_user", "tok/s/user"),
    "seq/s": ("seq_per_s", "seq/s"),
    "Concurrency": ("concurrency", "requests"),
    "Memory (GPU)": ("memory_per_gpu", "GB"),
}


def aic_exe() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "aiconfigurator")
    if os.path.exists(cand):
        return cand
    found = shutil.which("aiconfigurator")
    if not found:
        print("SKIP: the aiconfigurator console script is not on PATH")
        sys.exit(0)
    return found


def run(argv: list[str], log_path: str | None) -> str:
    env = dict(os.environ, PYTHONWARNINGS="ignore", AICONFIGURATOR_LOG_LEVEL="INFO")
    p = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    out = p.stdout + "\n" + p.stderr
    if log_path:
        with open(log_path, "w", encoding="utf-8") as f:
            f.write(out)
    if p.returncode != 0:
        print(f"  ! exit {p.returncode}: {' '.join(argv[1:])}\n{out[-2000:]}")
    return out


def parse_box(out: str) -> dict[str, float]:
    vals: dict[str, float] = {}
    for line in out.splitlines():
        m = re.match(r"^\s{2}([A-Za-z/(). ]+?):\s+([0-9][0-9,]*\.?[0-9]*)\s*([a-zA-Z/]*)\s*$", line)
        if m and m.group(1) in BOX_METRICS:
            vals[m.group(1)] = float(m.group(2).replace(",", ""))
    return vals


def quant_line(out: str) -> str:
    m = re.search(r"Resolved quant modes for \S+: (.*)", out)
    return m.group(1).strip() if m else ""


def cmd_str(argv: list[str]) -> str:
    return "aiconfigurator " + " ".join(shlex.quote(a) for a in argv[1:])


class Writer:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, question, gpu, config, metric, value, unit, command):
        self.rows.append(
            dict(question=question, gpu=gpu, config=config, metric=metric, value=value, unit=unit, command=command)
        )

    def add_box(self, question, gpu, config, out, command):
        box = parse_box(out)
        for label, (metric, unit) in BOX_METRICS.items():
            if label in box:
                self.add(question, gpu, config, metric, box[label], unit, command)
        q = quant_line(out)
        if q:
            self.add(question, gpu, config, "resolved_quant", q, "", command)
        oom = "OOM:" in out
        self.add(question, gpu, config, "oom_warning", int(oom), "bool", command)
        return box


def q6a(exe, w: Writer, logs):
    for backend in ("trtllm", "vllm", "sglang"):
        for mode in ("agg", "static"):
            argv = [exe, "cli", "estimate", "--model", M70, "--system", "h100_sxm", "--backend", backend,
                    "--estimate-mode", mode, "--tp", "4", "--batch-size", "32", "--isl", str(ISL), "--osl", str(OSL)]
            out = run(argv, logs and os.path.join(logs, f"6a_{backend}_{mode}.txt"))
            cfg = f"llama-3.1-70b bf16 tp4 bs32 isl{ISL} osl{OSL} backend={backend} mode={mode}"
            box = w.add_box("6a", "h100-sxm", cfg, out, cmd_str(argv))
            print(f"6a {backend:6s} {mode:6s} TTFT={box.get('TTFT')} TPOT={box.get('TPOT')} "
                  f"tok/s/gpu={box.get('tokens/s/gpu')} tok/s/user={box.get('tokens/s/user')}")


DEFAULT_KEEP = {
    "agg": ["parallel", "bs", "concurrency", "ttft", "tpot", "tokens/s/gpu", "tokens/s/user", "request_latency",
            "num_total_gpus", "gemm", "kvcache", "backend", "version", "memory"],
    "disagg": ["(p)parallel", "(p)bs", "(p)workers", "(d)parallel", "(d)bs", "(d)workers", "concurrency", "ttft",
               "tpot", "tokens/s/gpu", "tokens/s/user", "request_latency", "num_total_gpus", "(p)gemm", "(p)kvcache",
               "(p)backend", "(d)backend", "(p)version"],
}
UNITS = {"ttft": "ms", "tpot": "ms", "request_latency": "ms", "tokens/s/gpu": "tok/s/gpu",
         "tokens/s/user": "tok/s/user", "memory": "GB", "concurrency": "requests",
         "num_total_gpus": "gpus per replica"}


def q6b(exe, w: Writer, logs, top_n=3):
    for system in ("h100_sxm", "h200_sxm"):
        for dtype, model in (("bf16", M70), ("fp8", M70_FP8)):
            for backend in ("trtllm", "auto"):
                with tempfile.TemporaryDirectory() as save:
                    argv = [exe, "cli", "default", "--model", model, "--system", system, "--backend", backend,
                            "--total-gpus", "8", "--isl", str(ISL), "--osl", str(OSL), "--ttft", "1000",
                            "--tpot", "30", "--top-n", str(top_n), "--save-dir", save]
                    out = run(argv, logs and os.path.join(logs, f"6b_{system}_{dtype}_{backend}.txt"))
                    cmd = cmd_str(argv).replace(save, "OUT")
                    gpu = GPU_LABEL[system]
                    base = f"llama-3.1-70b {dtype} 8gpu isl{ISL} osl{OSL} ttft<=1000 tpot<=30 backend={backend}"
                    m = re.search(r"Best Experiment Chosen: (\S+) at ([0-9.,]+) tokens/s/gpu(.*)", out)
                    if m:
                        w.add("6b", gpu, base, "best_experiment", m.group(1), "", cmd)
                        w.add("6b", gpu, base, "best_tokens_per_s_per_gpu", float(m.group(2).replace(",", "")),
                              "tok/s/gpu", cmd)
                        w.add("6b", gpu, base, "best_note", m.group(3).strip(" ()"), "", cmd)
                    else:
                        w.add("6b", gpu, base, "best_experiment", "none (no config met the SLA)", "", cmd)
                    for mode in ("agg", "disagg"):
                        for root, _dirs, files in os.walk(save):
                            if os.path.basename(root) == mode and "best_config_topn.csv" in files:
                                with open(os.path.join(root, "best_config_topn.csv"), encoding="utf-8") as f:
                                    rows = list(csv.DictReader(f))
                                for rank, row in enumerate(rows[:top_n], start=1):
                                    cfg = f"{base} mode={mode} rank={rank}"
                                    for key in DEFAULT_KEEP[mode]:
                                        if key in row:
                                            val = row[key]
                                            with contextlib.suppress(ValueError):
                                                val = float(val)
                                            w.add("6b", gpu, cfg, key, val, UNITS.get(key, ""), cmd)
                                    # AIConfigurator's num_total_gpus column is GPUs per replica;
                                    # replicas fill the 8-GPU budget (its "total_gpus (used)" column).
                                    with contextlib.suppress(KeyError, ValueError, ZeroDivisionError):
                                        per = float(row["num_total_gpus"])
                                        w.add("6b", gpu, cfg, "replicas", float(8 // int(per)), "", cmd)
                                    if mode == "agg":
                                        print(f"6b {gpu} {dtype} {backend} agg#{rank}: {row.get('backend')} "
                                              f"{row.get('parallel')} bs{row.get('bs')} x{row.get('num_total_gpus')}gpu "
                                              f"tok/s/gpu={row.get('tokens/s/gpu')} TTFT={row.get('ttft')} "
                                              f"TPOT={row.get('tpot')}")
                                    else:
                                        print(f"6b {gpu} {dtype} {backend} disagg#{rank}: {row.get('(p)backend')} "
                                              f"P {row.get('(p)workers')}x{row.get('(p)parallel')} bs{row.get('(p)bs')} "
                                              f"D {row.get('(d)workers')}x{row.get('(d)parallel')} bs{row.get('(d)bs')} "
                                              f"tok/s/gpu={row.get('tokens/s/gpu')} TTFT={row.get('ttft')} "
                                              f"TPOT={row.get('tpot')}")


def q6c(exe, w: Writer, logs):
    cases = [(M8, "llama-3.1-8b", 1), (M8, "llama-3.1-8b", 2), (M70, "llama-3.1-70b", 2),
             (M70, "llama-3.1-70b", 4), (M70, "llama-3.1-70b", 8)]
    for system in ("h100_sxm", "h200_sxm"):
        for model, name, tp in cases:
            for dtype in ("bf16", "fp8"):
                for bs in (1, 8, 32, 64):
                    argv = [exe, "cli", "estimate", "--model", model, "--system", system, "--backend", "trtllm",
                            "--estimate-mode", "static", "--tp", str(tp), "--batch-size", str(bs),
                            "--isl", str(ISL), "--osl", str(OSL)]
                    if dtype == "fp8":
                        argv += FP8_FLAGS
                    out = run(argv, logs and os.path.join(logs, f"6c_{system}_{name}_tp{tp}_{dtype}_bs{bs}.txt"))
                    cfg = f"{name} {dtype} tp{tp} bs{bs} isl{ISL} osl{OSL} backend=trtllm mode=static"
                    box = w.add_box("6c", GPU_LABEL[system], cfg, out, cmd_str(argv))
                    print(f"6c {system} {name} tp{tp} {dtype} bs{bs}: TPOT={box.get('TPOT')} "
                          f"TTFT={box.get('TTFT')} mem={box.get('Memory (GPU)')}"
                          + ("  OOM" if "OOM:" in out else ""))


def markdown(path: str) -> None:
    """Print the README tables for 6b and 6c from an existing answers.csv (no aiconfigurator needed)."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in rows:
        by.setdefault((r["question"], r["gpu"], r["config"]), {})[r["metric"]] = r["value"]
    print("| GPU | dtype | engines searched | mode | configuration | tok/s/GPU | tok/s/user | TTFT ms | TPOT ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (q, gpu, cfg), v in by.items():
        if q != "6b" or "rank=1" not in cfg:
            continue
        dtype = cfg.split()[1]
        engines = "all three" if "backend=auto" in cfg else "trtllm"
        if "mode=agg" in cfg:
            conf = (f"{v.get('backend')} {v.get('parallel', '').split('dp')[0]} bs {float(v.get('bs', 0)):.0f} "
                    f"× {float(v.get('replicas', 1)):.0f} replica(s)")
            mode = "agg"
        else:
            conf = (f"{v.get('(p)backend')} P {float(v.get('(p)workers', 0)):.0f}×"
                    f"{v.get('(p)parallel', '').split('dp')[0]} bs {float(v.get('(p)bs', 0)):.0f} + "
                    f"D {float(v.get('(d)workers', 0)):.0f}×{v.get('(d)parallel', '').split('dp')[0]} "
                    f"bs {float(v.get('(d)bs', 0)):.0f} × {float(v.get('replicas', 1)):.0f} replica(s)")
            mode = "disagg"
        print(f"| {gpu} | {dtype} | {engines} | {mode} | {conf} | {float(v['tokens/s/gpu']):.1f} | "
              f"{float(v['tokens/s/user']):.2f} | {float(v['ttft']):.0f} | {float(v['tpot']):.2f} |")
    print()
    for (q, gpu, cfg), v in by.items():
        if q == "6b" and "best_experiment" in v:
            print(f"- {gpu} {cfg}: best = {v['best_experiment']} at {v.get('best_tokens_per_s_per_gpu')} "
                  f"tok/s/GPU ({v.get('best_note', '')})")
    print()
    cols = ("bs1", "bs8", "bs32", "bs64")
    print("| GPU | model | dtype | TP | " + " | ".join(f"TPOT {c}" for c in cols) + " |")
    print("|---|---|---|---|" + "---|" * len(cols))
    table: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for (q, gpu, cfg), v in by.items():
        if q != "6c":
            continue
        model, dtype, tp, bs = cfg.split()[:4]
        cell = f"{float(v['tpot']):.2f}" + (" OOM" if v.get("oom_warning") == "1" else "")
        table.setdefault((gpu, model, dtype, tp), {})[bs] = cell
    for (gpu, model, dtype, tp), cells in table.items():
        print(f"| {gpu} | {model} | {dtype} | {tp[2:]} | " + " | ".join(cells.get(c, "—") for c in cols) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markdown", action="store_true", help="print README tables from answers.csv and exit")
    ap.add_argument("--only", default="6a,6b,6c")
    ap.add_argument("--logs", default=None, help="directory to keep the raw CLI outputs")
    ap.add_argument("--out", default=os.path.join(_aic.HERE, "answers.csv"))
    args = ap.parse_args()
    if args.markdown:
        markdown(args.out)
        return
    _aic.require_aic()
    exe = aic_exe()
    print(f"aiconfigurator {_aic.aic_version()} (core {_aic.core_version()}) at {exe}")
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
    w = Writer()
    only = set(args.only.split(","))
    if "6a" in only:
        q6a(exe, w, args.logs)
    if "6b" in only:
        q6b(exe, w, args.logs)
    if "6c" in only:
        q6c(exe, w, args.logs)
    ver = _aic.aic_version()
    kept = []
    if only != {"6a", "6b", "6c"} and os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            kept = [r for r in csv.DictReader(f) if r["question"] not in only]
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        cw = csv.DictWriter(f, fieldnames=["question", "gpu", "config", "metric", "value", "unit", "command",
                                           "aiconfigurator_version"])
        cw.writeheader()
        for r in kept:
            cw.writerow(r)
        for r in w.rows:
            cw.writerow(dict(r, aiconfigurator_version=ver))
    print(f"wrote {len(w.rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
