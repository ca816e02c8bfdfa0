"""Catalog commands: ``tokenworks models``, ``hardware``, ``systems``, ``model-info``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tokenworks.api.catalog import hardware_rows, model_info, model_rows, system_rows
from tokenworks.cli.render import console, fmt_bytes, fmt_count, fmt_gib, print_json


def models_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the model catalog: parameters, attention kind, KV bytes per token."""
    rows = model_rows()
    if as_json:
        print_json(rows)
        return
    t = Table(title=f"Models ({len(rows)})", header_style="bold")
    for col in ("name", "architecture", "params", "active", "layers", "attention", "KV/token (bf16)",
                "context"):
        t.add_column(col, justify="right" if col not in ("name", "architecture", "attention") else "left")
    for r in rows:
        t.add_row(r["name"], r["architecture"], fmt_count(r["params_total"]),
                  fmt_count(r["params_active"]), str(r["num_layers"]), r["attention_kind"],
                  fmt_bytes(r["kv_bytes_per_token_bf16"]), f"{r['max_context_tokens']:,}")
    console.print(t)


def hardware_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    kind: Annotated[str | None, typer.Option(help="Filter by kind: gpu, tpu, asic, lpu, wafer, soc.")] = None,
) -> None:
    """List the accelerator catalog: dense peak FLOPS, memory, bandwidth, power, price."""
    rows = hardware_rows(kind=kind)
    if as_json:
        print_json(rows)
        return
    t = Table(title=f"Accelerators ({len(rows)})", header_style="bold")
    for col in ("name", "kind", "BF16 TFLOPS", "FP8 TFLOPS", "FP4 TFLOPS", "INT8 TOPS", "memory",
                "bandwidth", "TDP", "$/h"):
        t.add_column(col, justify="left" if col in ("name", "kind") else "right")

    def f(x: float | None, scale: float = 1e12) -> str:
        return "—" if x is None else f"{x / scale:,.0f}"

    for r in rows:
        rent = r["usd_per_gpu_hour"]
        t.add_row(r["name"], r["kind"], f(r["dense_bf16_flops_per_s"]), f(r["dense_fp8_flops_per_s"]),
                  f(r["dense_fp4_flops_per_s"]), f(r["dense_int8_flops_per_s"]),
                  f"{fmt_gib(r['memory_bytes'])} {r['memory_type']}",
                  f"{r['memory_bytes_per_s'] / 1e12:,.2f} TB/s", f"{r['tdp_w']:,.0f} W",
                  "—" if rent is None else f"{rent:,.2f}")
    console.print(t)


def systems_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the system catalog: nodes and racks, host memory, NVMe, NICs, power."""
    rows = system_rows()
    if as_json:
        print_json(rows)
        return
    t = Table(title=f"Systems ({len(rows)})", header_style="bold")
    for col in ("name", "accelerator", "chips", "CPU cores", "host DRAM", "NVMe", "NICs",
                "node kW", "cooling"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["accelerator"], str(r["num_accelerators"]), str(r["host_cpu_cores"]),
                  fmt_bytes(r["host_dram_bytes"]), fmt_bytes(r["local_nvme_bytes"]),
                  f"{r['num_nics']}× {r['nic_bytes_per_s'] * 8 / 1e9:,.0f} Gb/s",
                  f"{r['node_power_w'] / 1e3:,.1f}", r["cooling"])
    console.print(t)


def model_info_command(
    model: Annotated[str, typer.Argument(help="Catalog model name or a path to a config.json.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show one model's shape, parameter breakdown, KV bytes per token and FLOPs per token."""
    info = model_info(model)
    if as_json:
        print_json(info)
        return
    t = Table(title=f"{info['name']} ({info['architecture']})", show_header=False)
    t.add_column("field")
    t.add_column("value", justify="right")
    t.add_column("note")
    for key, value, note in info["display"]:
        t.add_row(key, value, note)
    console.print(t)
    console.print(f"[dim]source: {info['source_url']}[/]")


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
    app.command("hardware")(hardware_command)
    app.command("systems")(systems_command)
    app.command("model-info")(model_info_command)
