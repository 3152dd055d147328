"""Run Metaflow's own core test harness (``test/core`` of its repository) against ketch.

``python -m tests.metaflow_core`` (see ``--help`` and docs/compat.md) runs each test on one
graph, with ketch and optionally with Metaflow, and writes the pass table; ``pytest
tests/metaflow_core`` asserts the tests in ``expected.EXPECTED_PASS`` pass on ketch. Both need
``KETCH_METAFLOW_CHECKOUT``: a Metaflow checkout (a folder holding ``test/core``).
"""
