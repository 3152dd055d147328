"""``Run.code``: the code package stored with a run."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from ..datastore import BlobStore, read_package


class KetchCode:
    """The flow's source files as they were when the run started."""

    def __init__(self, key: str, flow_name: str, blobs: BlobStore) -> None:
        self.key = key
        self.flow_name = flow_name
        self._blobs = blobs  # the store of the run (metadata() may since point elsewhere)
        self._files: dict[str, bytes] | None = None

    @property
    def tarball(self) -> tarfile.TarFile:
        return tarfile.open(fileobj=io.BytesIO(bytes(self._blobs.get(self.key))), mode="r:gz")

    @property
    def files(self) -> dict[str, bytes]:
        if self._files is None:
            self._files = read_package(bytes(self._blobs.get(self.key)))
        return self._files

    @property
    def path(self) -> str:
        """Where the package is stored: its URL in an object store, its file in a directory."""
        return self._blobs.location(self.key)

    @property
    def info(self) -> dict[str, object]:
        return {"files": sorted(self.files), "flow_name": self.flow_name}

    @property
    def script_name(self) -> str:
        """The file that defines the flow class."""
        marker = f"class {self.flow_name}(".encode()
        for name, content in sorted(self.files.items()):
            if marker in content:
                return name
        return next(iter(sorted(self.files)), "")

    @property
    def flowspec(self) -> str:
        """Source text of the flow file."""
        return self.files.get(self.script_name, b"").decode("utf-8", errors="replace")

    def extract(self, directory: str | Path | None = None) -> Path:
        """Write the files under ``directory`` (a new temporary directory by default)."""
        import tempfile

        target = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="ketch-code-"))
        for name, content in self.files.items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return target

    def __repr__(self) -> str:
        return f"<KetchCode {self.flow_name} {len(self.files)} files>"
