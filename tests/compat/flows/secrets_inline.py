"""@secrets with the inline provider: the step's task sees the variables, the next one does not."""

import os

from metaflow import FlowSpec, secrets, step

SOURCES = [
    {
        "type": "inline",
        "id": "1",
        "options": {"env_vars": {"secret_1": "Pizza is a vegetable.", "SECRET_2": "eels"}},
    },
    {"type": "inline", "id": "2", "options": {"env_vars": {"THIRD": "3"}}},
]
NAMES = ("secret_1", "SECRET_2", "THIRD")


class SecretsInlineFlow(FlowSpec):
    @secrets(sources=SOURCES)
    @step
    def start(self):
        self.seen = {name: os.environ.get(name) for name in NAMES}
        self.next(self.end)

    @step
    def end(self):
        self.after = {name: os.environ.get(name) for name in NAMES}


if __name__ == "__main__":
    SecretsInlineFlow()
