"""The ketch benchmark suite: the same flow files on ketch and on Metaflow, side by side.

Run it from the repository root with ``python -m bench`` (``--help`` lists the options).
Flow files live in ``bench/flows/`` and import from ``metaflow``; for ketch the import line is
rewritten when the file is copied into a fresh scratch directory.
"""
