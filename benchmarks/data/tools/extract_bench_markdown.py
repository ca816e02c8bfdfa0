#!/usr/bin/env python3
"""Extract serving-benchmark result blocks from markdown recipe pages.

Walks a markdown file line by line, remembering the latest "Hardware:", "Tensor
Parallelism:", "sglang version:" lines and the latest launch / benchmark command
flags, and emits one record per "Serving Benchmark Result" block. Used for the
SGLang cookbook pages; output is cached as JSON under tools/cache/.

usage: extract_bench_markdown.py GIT_DIR COMMIT PATH [PATH...] > out.json
"""
import json
import re
import subprocess
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from latency_lib import parse_block  # noqa: E402

FLAG = re.compile(r"--([a-z0-9-]+)[ =]([^\s\\]+)")
ENV = re.compile(r"^\s*[-*]?\s*\**(Hardware|Tensor Parallelism|sglang version|SGLang Version|Model)\**\s*:\s*\**\s*(.+?)\s*$", re.I)
EXTRA = {"Max request concurrency": "concurrency", "Maximum request concurrency": "concurrency",
         "Successful requests": "completed", "Total input tokens": "total_input_tokens",
         "Total generated tokens": "total_output_tokens", "Traffic request rate": "request_rate"}


def extract(text):
    env, launch, bench, out = {}, {}, {}, []
    lines = text.splitlines()
    cur = None
    i = 0
    while i < len(lines):
        ln = lines[i]
        m = ENV.match(ln)
        if m:
            env[m.group(1).lower().replace("sglang version", "sglang_version")] = m.group(2).strip("* ")
        if re.search(r"(launch_server|sglang serve|vllm serve|bench_serving|bench serve)", ln):
            cur = {}
        if cur is not None:
            for k, v in FLAG.findall(ln):
                cur[k] = v
            if not ln.rstrip().endswith("\\"):
                if cur:
                    if {"backend", "dataset-name", "max-concurrency", "num-prompts", "num-prompt"} & set(cur):
                        bench = cur
                    else:
                        launch = cur
                cur = None
        if "Serving Benchmark Result" in ln:
            j = i + 1
            block = []
            while j < len(lines) and not lines[j].strip().startswith("=====") and not lines[j].strip().startswith("```"):
                block.append(lines[j])
                j += 1
            extra = {}
            for b in block:
                for lab, key in EXTRA.items():
                    mm = re.match(r"^\s*" + re.escape(lab) + r":\s+(\S+)", b)
                    if mm:
                        extra[key] = mm.group(1)
            out.append(dict(env=dict(env), launch=dict(launch), bench=dict(bench), extra=extra, line=i + 1,
                            metrics=parse_block("\n".join(block))))
            i = j
        i += 1
    return out


def main():
    git_dir, commit, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    res = {}
    for p in paths:
        text = subprocess.run(["git", "--git-dir", git_dir, "show", "%s:%s" % (commit, p)],
                              capture_output=True, text=True, check=True).stdout
        res[p] = extract(text)
    json.dump(res, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
