"""The ``tokenworks`` command line: a typer app that renders results; it computes nothing.

Each command family lives in its own module with a ``register(app)`` function. Exit codes
(docs/user-guide.md, "Errors and exit codes"): 0 success; 1 a user error (``TokenworksError``:
a bad value, an unknown name, an impossible scenario), printed as one red line that names the
input and the fix; 2 a usage error (unknown option, a value of the wrong type), printed by the
argument parser; 130 interrupted (Ctrl-C). Anything else is a bug in tokenworks and keeps its
traceback. A closed output pipe (``tokenworks claims | head``) is not an error.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from tokenworks import __version__
from tokenworks.errors import TokenworksError

app = typer.Typer(
    name="tokenworks",
    help="Model the AI token factory: silicon, memory, interconnect, serving, power, money.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"tokenworks {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", "-V", callback=_version,
                                       is_eager=True, help="Print the version and exit.")
          ) -> None:
    """Model the AI token factory: silicon, memory, interconnect, serving, power, money."""


def _register_all() -> None:
    from tokenworks.cli import (
        calibrate_cmd,
        capacity_cmds,
        catalog_cmds,
        claims_cmd,
        estimate_cmd,
        finance_cmds,
        plan_cmds,
        report_cmd,
        serve_cmd,
        simulate_cmds,
    )

    # The order of the commands in --help: the analytic answer, catalogs, simulation, then
    # money (tco, pnl), sizing (fleet, train, power), what-ifs (sensitivity, capital).
    for module in (estimate_cmd, catalog_cmds, simulate_cmds, plan_cmds, calibrate_cmd):
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
        sys.stdout.flush()
    except TokenworksError as e:
        _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(1)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _err.print("[red]interrupted[/]")
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (``| head``): not an error. Point stdout at devnull so the
        # interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as e:
        # Usage errors (unknown option, bad value) from click or typer's bundled click.
        if hasattr(e, "show") and hasattr(e, "exit_code") and type(e).__name__ in _USAGE_ERRORS:
            e.show()
            sys.exit(e.exit_code or 2)
        raise


_USAGE_ERRORS = {"UsageError", "BadParameter", "NoSuchOption", "BadOptionUsage",
                 "BadArgumentUsage", "MissingParameter", "ClickException", "FileError"}
