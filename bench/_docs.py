"""Regenerate docs/benchmarks.md from a session's results (hand-written notes are kept)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._format import HEADERS, cells
from ._machine import REPO
from ._results import Results, Target

DOC = REPO / "docs" / "benchmarks.md"
NOTES = "## Notes"
MARK = {True: "met", False: "**not met**", None: "n/a"}

METHOD = """\
## How it is measured

- Every flow file in `bench/flows/` imports from `metaflow`; for ketch the import line is
  rewritten to `from ketch import ...` when the file is copied. Each run happens in a fresh
  directory under `$TMPDIR` (outside any git repository, with no `.ketch`/`.metaflow` above
  it), with `USER=bench` and without any `KETCH_*`/`METAFLOW_*` variable. ketch runs with the
  benchmark's own interpreter; Metaflow 2.19 with the interpreter of a scratch venv
  (`python flow.py --no-pylint run ...`). Runs of the two frameworks alternate.
- Times are the wall time of the whole command (`time.perf_counter` around start and reap),
  reported as the median of the runs; "runs k/m" gives the number of ketch/Metaflow runs.
- Every measured command starts after `sync`, and run directories are deleted at the end of
  the session, not between runs (only the 1 GiB workloads delete theirs right away, for disk
  space): a Metaflow run leaves thousands of files, and deleting them just before the next
  command made that command, usually ketch's, pay for the write-back and, on this VM's file
  system, for an inode allocator that skips recently deleted inodes (`perf`: a third of a ketch
  task's CPU in `ext4`'s `find_inode_bit`/`recently_deleted` right after such a deletion).
- Bytecode: the sandbox exports `PYTHONDONTWRITEBYTECODE=1`, which would make ketch (an
  editable install without `.pyc` files) recompile itself on every start while Metaflow's
  wheel ships compiled. The benchmark unsets it and points `PYTHONPYCACHEPREFIX` to a scratch
  directory for both frameworks, then runs a tiny flow once per framework before measuring.
- Floors are measured in the same session: `python -c pass`; the fork floor (fork, pickle a
  small dict to a pipe, exit, reap; the lowest of three medians of 300, from a bare parent and
  from one that imported numpy); a flow's floor is interpreter start + one fork floor per task
  on the critical path, with `min(max-workers, cores)` tasks at a time. The 1 GiB floors are
  a plain script doing the flow's work in one process: make the array, pickle-5 it
  (out-of-band buffer) to a file, fsync, read it back, sum it (zstd level 3 before writing for
  the zeros); it runs next to every ketch run and its median is the floor.
- 1 GiB workloads and memory first-touch: this kind of VM hands freed memory back to its host
  after a few seconds (virtio-balloon free page reporting), and touching such memory again
  costs seconds per GiB. So that no command pays this more than another one, each measured
  command of these workloads (floor, ketch, Metaflow) is preceded by an untimed process that
  touches and frees 4 GiB. The "fill 1 GiB of new memory" row shows the cost that remains.
- Per-task overhead = (median foreach 100 - median foreach 1) / 99, both with
  `--max-workers 2`: the wall time each extra task adds (the note repeats it for foreach 1,000).
- Memory: the peak of the summed PSS (`/proc/PID/smaps_rollup`) of the command's process
  tree, sampled every 20 ms (PSS counts pages shared by forked processes once), or the
  kernel's peak RSS of the largest single process (`ru_maxrss` from `wait4`, the figure
  `/usr/bin/time -v` prints), whichever is larger. The scheduler figure is the `VmHWM` of the
  scheduler process alone (the root of the tree), sampled every 50 ms; `VmHWM` only grows.
- Disk: files and apparent bytes under `.ketch`/`.metaflow` after one foreach-100 run in a
  fresh directory, divided by its 103 tasks. ketch's database growth per task is the change
  in pages in use of `ketch.db` (WAL included) over a second identical run. The bytes stored
  for the compressible array are the store size after the run minus the store size after a
  run of the same flow with an empty array.
- Client: the time to iterate `Flow('TinyFlow')` and read `run.data.x` of each run, timed
  inside the process (imports excluded; whatever the Client loads lazily on first use is
  included), over a store holding only those runs. The note gives the same listing done a
  second time in the same process.
- UI (ketch only): one foreach-1,000 run (not timed), then a separate process serves it with
  the UI's app and requests the run page and the `work` step page (1,000 tasks), as HTML and
  as JSON, once untimed (templates compile), then 20 times each through starlette's
  TestClient (the app's whole work, no socket); the figure is the median request, the note
  gives the JSON one. `python -m bench --only ui1000 --no-metaflow` measures only this.
- Each command has a timeout (ketch 600 s, Metaflow 3600 s); a command that fails or times out
  is reported with its output, its figure shows FAILED, and `python -m bench` exits 1.
"""


def _load(meta: dict[str, Any]) -> str:
    load = meta.get("loadavg")
    if not load:
        return "not recorded"
    return " -> ".join("/".join(f"{x:.1f}" for x in load[k]) for k in ("before", "after"))


def _md_row(values: list[str]) -> str:
    return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"


def render(results: Results, targets: list[Target], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m bench --write-docs`: everything above the Notes"
        " heading is rewritten on each run. -->",
        "",
        f"- Date: {meta['date']}",
        f"- Command: `{meta['command']}`",
        f"- Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, "
        f"{m['platform']}, Python {m['python']}",
        f"- Load average (1/5/15 min) before and after: {_load(meta)}",
        f"- ketch {m.get('ketch_version', '?')} (commit {m['ketch_commit']}), "
        f"Metaflow {m.get('metaflow_version', 'not run')}",
        "",
        "## Results (medians)",
        "",
        _md_row(HEADERS),
        _md_row(["---"] * len(HEADERS)),
        *(_md_row(cells(row)) for row in results.rows.values()),
        "",
        meta.get("repeats_note", ""),
        "",
        "## Targets",
        "",
        _md_row(["target", "result", "figure"]),
        _md_row(["---"] * 3),
        *(_md_row([t.text, MARK[t.met], t.detail]) for t in targets),
        "",
    ]
    if results.failures:
        lines += ["## Failures", ""]
        lines += [
            "- " + " ".join(f"`{x.strip()}`" for x in f.splitlines()[:2]) for f in results.failures
        ]
        lines.append("")
    lines.append(METHOD)
    return "\n".join(lines)


def write_docs(results: Results, targets: list[Target], meta: dict[str, Any]) -> Path:
    notes = f"{NOTES}\n\nHand-written observations go here; they survive regeneration.\n"
    if DOC.exists():
        found = re.search(rf"^{re.escape(NOTES)}$", DOC.read_text(), re.MULTILINE)
        if found:
            notes = found.string[found.start() :]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(results, targets, meta) + "\n" + notes)
    return DOC
