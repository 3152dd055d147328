"""Load a flow class from a file, with errors that say what is wrong with the file.

The CLI loads the flow it was given; a task process loads the flow it runs (from the flow file,
or from the run's unpacked code package, see ``ketch.runtime._package``). Both import it from
here: the authoring part is below both, and the runtime must not import ``cli/``.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from ..exceptions import FlowDefinitionError
from ._spec import FlowSpec

MODULE_NAME = "__mp_main__"


def load_flow_module(path: str | Path) -> ModuleType:
    """Import the flow file as the main module (so pickles refer to ``__main__``)."""
    file = Path(path).resolve()
    if file.is_dir():
        raise FlowDefinitionError(
            f"'{path}' is a directory; a flow file is expected here.",
            hint=f"Name the Python file that defines the flow, e.g. {Path(path) / 'flow.py'}.",
        )
    if not file.is_file():
        raise FlowDefinitionError(
            f"Flow file '{path}' does not exist.", hint="Check the path of the flow file."
        )
    spec = importlib.util.spec_from_file_location(MODULE_NAME, file)
    if spec is None or spec.loader is None:
        raise FlowDefinitionError(f"'{path}' is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    sys.modules["__main__"] = module
    sys.path.insert(0, str(file.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise FlowDefinitionError(
            f"{exc.filename}, line {exc.lineno}: {exc.msg}",
            hint="Fix the syntax error in the flow file.",
            headline="The flow file has a syntax error",
        ) from None
    except Exception as exc:
        where = _user_frame(exc, file)
        raise FlowDefinitionError(
            f"Importing {file.name} raised {type(exc).__name__}: {exc}{where}",
            hint="Fix the error at the top level of the flow file (or install the missing "
            "package).",
        ) from None
    return module


def _user_frame(exc: BaseException, file: Path) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == file:
            return f" (line {frame.lineno})"
    return ""


def find_flow_class(module: ModuleType, name: str | None = None) -> Any:
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, FlowSpec)
        and value is not FlowSpec
        and value.__module__ == module.__name__
    ]
    if name is not None:
        classes = [c for c in classes if c.__name__ == name]
    file = getattr(module, "__file__", "the flow file")
    if not classes:
        raise FlowDefinitionError(
            f"{file} defines no FlowSpec subclass" + (f" named {name}." if name else "."),
            hint="A flow file defines a class that inherits from ketch.FlowSpec.",
        )
    if len(classes) > 1:
        # Like a Metaflow script, the flow is the class the file instantiates last: take the
        # most derived one when they form a chain, else ask.
        leaves = [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]
        if len(leaves) == 1:
            return leaves[0]
        raise FlowDefinitionError(
            f"{file} defines several flows: {', '.join(c.__name__ for c in classes)}.",
            hint="Keep one flow per file.",
        )
    return classes[0]


def load_flow_class(path: str | Path, name: str | None = None) -> Any:
    return find_flow_class(load_flow_module(path), name)
