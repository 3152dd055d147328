"""Run a click command so that errors print a short paragraph and the right exit code."""

from __future__ import annotations

import sys
import traceback

import click

from ..exceptions import KetchException


def invoke(cli: click.Command, args: list[str], *, prog_name: str) -> int:
    """Invoke ``cli`` and return its exit code; never lets a ketch error escape as a traceback."""
    try:
        result = cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except KetchException as exc:
        if exc.show_traceback:
            traceback.print_exc()
        click.echo(exc.format(), err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 1
    finally:
        sys.stdout.flush()
    return result if isinstance(result, int) else 0
