"""Re-download the Vega bundles that ketch ships (cards and UI charts work offline, no CDN).

Usage: ``python scripts/vendor_vega.py [vega@X vega-lite@Y vega-embed@Z vega-interpreter@W]``
(needs ``npm``). It packs each package from the npm registry, copies its minified browser
build and its LICENSE into ``src/ketch/ui/static/vendor/`` and rewrites ``VERSIONS.txt``.
``vega-interpreter`` ships only as an ES module: it is wrapped into a classic script that
sets ``window.vegaInterpreter`` (so charts run under a Content-Security-Policy without
``unsafe-eval``). Review the diff, run ``pytest tests/cards tests/ui -k vega``, commit.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "ketch" / "ui" / "static" / "vendor"
DEFAULT = ["vega@6.4.0", "vega-lite@6.5.0", "vega-embed@7.3.0", "vega-interpreter@2.3.2"]
BUILDS = {
    "vega": "build/vega.min.js",
    "vega-lite": "build/vega-lite.min.js",
    "vega-embed": "build/vega-embed.min.js",
    "vega-interpreter": "build/vega-interpreter.js",
}
_IMPORT = re.compile(r"^import \{([^}]*)\} from 'vega-util';$", re.MULTILINE)
_EXPORT = re.compile(r"^export \{ expression as expressionInterpreter \};$", re.MULTILINE)


def classic_interpreter(source: str) -> str:
    """The ES module of vega-interpreter as a classic script over the global ``vega``."""
    names = _IMPORT.search(source)
    if names is None or _EXPORT.search(source) is None:
        raise SystemExit("vega-interpreter's build changed shape: update classic_interpreter()")
    body = _IMPORT.sub(lambda m: f"const {{{m.group(1)}}} = vega;", source)
    body = _EXPORT.sub("window.vegaInterpreter = { expressionInterpreter: expression };", body)
    body = body.replace("//# sourceMappingURL=vega-interpreter.js.map", "")
    return "(function () {\n" + body.strip() + "\n})();\n"


def vendor(spec: str, work: Path) -> str:
    out = subprocess.run(
        ["npm", "pack", spec, "--json"], cwd=work, check=True, capture_output=True, text=True
    )
    filename = json.loads(out.stdout)[0]["filename"]
    with tarfile.open(work / filename) as tar:
        tar.extractall(work / spec, filter="data")
    package = work / spec / "package"
    meta = json.loads((package / "package.json").read_text())
    name, version, licence = meta["name"], meta["version"], meta["license"]
    if licence != "BSD-3-Clause":
        raise SystemExit(f"{name} {version} is licensed {licence}: check it before shipping")
    text = (package / BUILDS[name]).read_text(encoding="utf-8")
    if name == "vega-interpreter":
        text = classic_interpreter(text)
    target = f"{name}.min.js" if name != "vega-interpreter" else "vega-interpreter.js"
    (VENDOR / target).write_text(text, encoding="utf-8")
    (VENDOR / f"LICENSE-{name}.txt").write_text((package / "LICENSE").read_text())
    return f"{name} {version} {licence} https://www.npmjs.com/package/{name}/v/{version}"


def main(specs: list[str]) -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        lines = [vendor(spec, Path(tmp)) for spec in specs]
    header = "# Vendored by scripts/vendor_vega.py: name version license source\n"
    (VENDOR / "VERSIONS.txt").write_text(header + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
