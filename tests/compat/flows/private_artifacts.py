"""Private _x artifacts are persisted but hidden from client listings."""

from metaflow import FlowSpec, step


class PrivateArtifactsFlow(FlowSpec):
    @step
    def start(self):
        self._secret = "hidden"
        self._count = 3
        self.visible = "shown"
        self.next(self.end)

    @step
    def end(self):
        self.read_secret = self._secret
        self.read_count = self._count + 1


if __name__ == "__main__":
    PrivateArtifactsFlow()
