"""Run a click command so that errors print a short paragraph and the right exit code."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import traceback
from typing import NoReturn

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
        return report(exc)
    except BrokenPipeError:
        return 1
    finally:
        sys.stdout.flush()
    return result if isinstance(result, int) else 0


def report(exc: KetchException) -> int:
    """Print a ketch error as its short paragraph (with the traceback of an internal error,
    which is being handled now); returns its exit code."""
    if exc.show_traceback:
        traceback.print_exc()
    click.echo(exc.format(), err=True)
    return exc.exit_code


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, minus the interpreter's teardown.

    The atexit hooks run and the standard streams are flushed, as in a normal exit; what is
    skipped is freeing every module and object one by one, which takes about 20 ms in a process
    that has run a flow (the operating system frees the memory at once). The exit is a normal
    one under a profiler, tracer or debugger (they write their results after the program
    returns) and while a non-daemon thread runs (a normal exit waits for it).
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if sys.getprofile() or sys.gettrace() or any(not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
