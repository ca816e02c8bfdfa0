"""The ``tokenworks`` command line: a typer app that renders results; it computes nothing.

Each command group lives in its own module with a ``register(app)`` function. User errors
(``TokenworksError``) print one red line and exit 1; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from tokenworks.errors import TokenworksError

app = typer.Typer(
    name="tokenworks",
    help="Model the AI token factory: silicon, memory, interconnect, serving, power, money.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_err = Console(stderr=True)


def _register_all() -> None:
    from tokenworks.cli import (
        calibrate_cmd,
        capacity_cmds,
        catalog_cmds,
        claims_cmd,
        estimate_cmd,
        finance_cmds,
        report_cmd,
        serve_cmd,
        simulate_cmds,
    )

    # The order of the commands in --help: the analytic answer, catalogs, simulation, then
    # money (tco, pnl), sizing (fleet, train, power), what-ifs (sensitivity, capital).
    for module in (estimate_cmd, catalog_cmds, simulate_cmds, calibrate_cmd):
        module.register(app)
    finance_cmds.register_tco_pnl(app)
    capacity_cmds.register(app)
    finance_cmds.register_what_ifs(app)
    # Then the ledger, and the faces: HTML reports and the web dashboard.
    for module in (claims_cmd, report_cmd, serve_cmd):
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=False)
    except TokenworksError as e:
        _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        _err.print("[red]aborted[/]")
        sys.exit(1)
    except Exception as e:
        # Usage errors (unknown option, bad value) from click or typer's bundled click.
        if hasattr(e, "show") and hasattr(e, "exit_code") and type(e).__name__ in _USAGE_ERRORS:
            e.show()
            sys.exit(e.exit_code or 2)
        raise


_USAGE_ERRORS = {"UsageError", "BadParameter", "NoSuchOption", "BadOptionUsage",
                 "BadArgumentUsage", "MissingParameter", "ClickException", "FileError"}
