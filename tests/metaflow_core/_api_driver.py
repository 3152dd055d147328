"""Run a harness flow through the Runner API, as run_tests.py's ``api`` executor does.

``python _api_driver.py IMPL MODE OPTIONS_JSON [STEP]`` in the case directory: IMPL is
``ketch`` or ``metaflow`` (whose ``Runner`` is used), MODE ``run`` or ``resume``, OPTIONS_JSON
``{"top": {...}, "run": {...}}`` (keyword arguments of ``Runner(...)`` and of ``run(...)``).
The command's output is printed and its exit code returned, so that the shim judges it as it
judges the CLI executor's.
"""

from __future__ import annotations

import json
import sys


def main(impl: str, mode: str, options_json: str, step: str | None = None) -> int:
    if impl == "ketch":
        from ketch import Runner
    else:
        from metaflow import Runner  # type: ignore[no-redef]
    options = json.loads(options_json)
    runner = Runner("test_flow.py", show_output=False, **options["top"])
    kwargs = dict(options["run"])
    if mode == "resume" and step:
        kwargs["step_to_rerun"] = step
    result = runner.run(**kwargs) if mode == "run" else runner.resume(**kwargs)
    for stream, out in (("stdout", sys.stdout), ("stderr", sys.stderr)):
        with open(result.command_obj.log_files[stream], encoding="utf-8") as f:
            out.write(f.read())
    code = result.command_obj.process.returncode
    runner.cleanup()
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
