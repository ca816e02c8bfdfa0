"""A digest of tokenworks' observable behaviour, to show that a refactor changed nothing.

Runs, in-process and deterministically: every ``$ tokenworks …`` line of the user guide and a
table of further CLI invocations (human and ``--json`` output, and the exit code), the
per-request tables of the example scenarios and two anchors (fast path and exact mode), and
the claims ledger. Prints one SHA-256 per item and a combined digest; ``--out FILE`` writes the
item digests as JSON, ``--compare FILE`` lists the items whose digest differs from FILE's.

    python scripts/behaviour_digest.py --out /tmp/before.json
    ... refactor ...
    python scripts/behaviour_digest.py --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Further invocations beyond the user guide (outputs that the guide does not show).
EXTRA_COMMANDS = [
    "estimate --json",
    "estimate --model llama-3.1-8b --hardware h100-sxm --num-gpus 1 --tp 1 --batch 1 --json",
    "estimate --model deepseek-v3 --hardware h200 --tp 8 --ep 8 --weights-dtype fp8 --json",
    "estimate --model mixtral-8x7b --hardware mi300x --tp 2 --num-gpus 2 --json",
    "estimate --model llama-3.1-405b --hardware h100-sxm --tp 8 --pp 2 --num-gpus 16 --json",
    "estimate --model gpt-oss-120b --hardware b200 --tp 1 --num-gpus 1 --weights-dtype mxfp4",
    "model-info llama-3.1-70b --json",
    "model-info jamba-v0.1",
    "hardware --json",
    "systems --json",
    "models --json",
    "tco --json",
    "tco -H h200 --model deepseek-r1 --prefix-hit 0.56 --list-price deepseek-r1-api --json",
    "pnl --json",
    "fleet --model llama-3.1-70b -H h100-sxm --tp 4 --demand-requests-per-s 1000 "
    "--input-tokens 1024 --output-tokens 512 --tpot-slo-ms 50 --json",
    "train --json",
    "power --json",
    "sensitivity --json",
    "capital --json",
    "claims --json",
    "simulate examples/chat-h100-tp4.yaml --max-requests 300 --quiet --json",
    "simulate examples/disagg-h100-h200.yaml --max-requests 200 --quiet --json",
    "simulate examples/disagg-rubin-cpx-r200.yaml --max-requests 200 --quiet --json",
    "simulate examples/agentic.yaml --max-requests 30 --quiet --json",
    # errors: the message is behaviour too
    "estimate --model nope",
    "estimate --tp 3",
    "simulate examples/does-not-exist.yaml",
]


def _guide_commands() -> list[str]:
    text = (ROOT / "docs" / "user-guide.md").read_text()
    cmds = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        cmds += [line[2:].strip() for line in block.splitlines()
                 if line.startswith("$ tokenworks")]
    return [c.removeprefix("tokenworks ").strip() for c in cmds]


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    from tokenworks.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def _scenario_digest(scenario) -> str:
    import tokenworks

    table = tokenworks.simulate(scenario).requests
    h = hashlib.sha256()
    for name in table.column_names:
        h.update(name.encode())
        h.update(repr(table.column(name).to_pylist()).encode())
    return h.hexdigest()


def _scenarios() -> dict[str, object]:
    anchor = {
        "model": "llama-3-70b", "hardware": {"accelerator": "a100-80g-sxm"},
        "deployment": {"tp": 2, "gpu_memory_utilization_frac": 0.95},
        "scheduler": {"max_num_batched_tokens": 512, "max_num_seqs": 128},
        "workload": {"arrivals": {"kind": "poisson", "rate_per_s": 0.5},
                     "prompt_tokens": 1500, "output_tokens": 300, "num_requests": 2000},
    }
    exact = json.loads(json.dumps(anchor))
    exact["scheduler"]["exact"] = True
    out: dict[str, object] = {"anchor": anchor, "anchor-exact": exact}
    for p in sorted((ROOT / "examples").glob("*.yaml")):
        if "mooncake" in p.name and not (ROOT.parent / "shared").exists():
            continue
        raw = p.read_text()
        import yaml

        sc = yaml.safe_load(raw)
        sc.setdefault("simulation", {})["max_requests"] = 400
        out[p.stem] = sc
    return out


def digests() -> dict[str, str]:
    os.environ.setdefault("COLUMNS", "120")
    from tokenworks.cli.render import console

    console.width = 120
    os.chdir(ROOT)
    out: dict[str, str] = {}
    for cmd in _guide_commands() + EXTRA_COMMANDS:
        code, stdout, stderr = _run_cli(shlex.split(cmd))
        h = hashlib.sha256(f"{code}\n{stdout}\n{stderr}".encode()).hexdigest()
        out[f"cli: {cmd}"] = h
    for name, sc in _scenarios().items():
        out[f"simulate: {name}"] = _scenario_digest(sc)
    import tokenworks

    ledger = tokenworks.run_ledger()
    out["claims ledger"] = hashlib.sha256(
        json.dumps([r.to_dict() if hasattr(r, "to_dict") else repr(r) for r in ledger],
                   sort_keys=True, default=repr).encode()).hexdigest()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the item digests as JSON to this file")
    ap.add_argument("--compare", help="compare with the digests in this JSON file")
    args = ap.parse_args()
    d = digests()
    combined = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
    if args.out:
        Path(args.out).write_text(json.dumps(d, indent=1, sort_keys=True))
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        changed = [k for k in sorted(set(old) | set(d)) if old.get(k) != d.get(k)]
        for k in changed:
            print(f"changed: {k}")
        print(f"{len(d)} items, {len(changed)} changed; combined digest {combined}")
        sys.exit(1 if changed else 0)
    for k, v in d.items():
        print(f"{v[:16]}  {k}")
    print(f"combined digest {combined} over {len(d)} items")


if __name__ == "__main__":
    main()
