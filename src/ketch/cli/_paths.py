"""Paths the commands write to, checked before any work is done."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import UserError


class _PathError(UserError):
    headline = "Bad output path"


def check_output_file(path: str, option: str) -> Path:
    """``path`` as a file that ``option`` can create or replace, or an error naming it.

    Checked up front so that a run does not start (and leave a failed run behind) only to
    fail when it writes the file.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise _PathError(
            f"{option} '{path}' is a directory; it must name a file.",
            hint=f"Name a file in it, e.g. {option} {target / 'out'}",
        )
    folder = target.parent
    if not folder.exists():
        raise _PathError(
            f"{option} '{path}': the directory '{folder}' does not exist.",
            hint=f"Create it first (mkdir -p {folder}) or name a file in an existing directory.",
        )
    if not folder.is_dir():
        raise _PathError(
            f"{option} '{path}': '{folder}' is not a directory.",
            hint="Name a file in an existing directory.",
        )
    return target


def write_failed(path: str, option: str, exc: OSError) -> UserError:
    """The error to raise when writing ``path`` failed all the same (permissions, disk)."""
    return _PathError(
        f"{option} '{path}' could not be written: {exc.strerror or exc}.",
        hint="Check the path and its permissions.",
    )
