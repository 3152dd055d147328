"""The context the shim runs every test in: Metaflow's ``python3-all-local`` context of
``contexts.json`` (the same environment, options and checkers), with the CLI executor (or, with
``--executor api``, the ``api`` executor, which drives the flow through ``Runner``) and with a
python of our choosing for the flows and the checkers."""

from __future__ import annotations

ENV: dict[str, str] = {
    "METAFLOW_USER": "tester",
    "METAFLOW_RUN_BOOL_PARAM": "False",
    "METAFLOW_RUN_NO_DEFAULT_PARAM": "test_str",
    "METAFLOW_DEFAULT_METADATA": "local",
}

TOP_OPTIONS: tuple[str, ...] = (
    "--metadata=local",
    "--datastore=local",
    "--environment=local",
    "--event-logger=nullSidecarLogger",
    "--no-pylint",
    "--quiet",
)

RUN_OPTIONS: tuple[str, ...] = (
    "--max-workers=50",
    "--max-num-splits=10000",
    "--tag=\u523a\u8eab means sashimi",
    "--tag=multiple tags should be ok",
)

# The same options as keyword arguments, for the ``api`` executor (``Runner(**top).run(**run)``).
API_OPTIONS: dict[str, dict[str, object]] = {
    "top": {
        "metadata": "local",
        "datastore": "local",
        "environment": "local",
        "event_logger": "nullSidecarLogger",
        "pylint": False,
        "quiet": True,
    },
    "run": {
        "max_workers": 50,
        "max_num_splits": 10000,
        "tags": ["\u523a\u8eab means sashimi", "multiple tags should be ok"],
        "run_id_file": "run-id",
    },
}

CHECKS: tuple[str, ...] = ("CliCheck", "MetadataCheck")

# Disabled in python3-all-local itself (they need S3, a huge artifact or realtime cards).
DISABLED_TESTS: dict[str, str] = {
    "LargeArtifactTest": "disabled in Metaflow's local context (a multi-GB artifact)",
    "S3FailureTest": "disabled in Metaflow's local context (needs S3)",
    "CardComponentRefreshTest": "disabled in Metaflow's local context (realtime cards)",
    "CardWithRefreshTest": "disabled in Metaflow's local context (realtime cards)",
}

# The graph each test runs on: the first of these that the test accepts.
GRAPH_PREFERENCE: tuple[str, ...] = (
    "simple-foreach",
    "single-and-branch",
    "single-linear-step",
    "small-foreach",
    "nested-foreach",
    "nested-branches",
)
