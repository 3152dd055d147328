"""Tags follow Metaflow's rules (checked with Metaflow 2.19): not empty, at most 500
characters, UTF-8, at most 50 user tags on a run; blank and multi-line tags are accepted.
Through ``run --tag``, ``resume --tag``, ``tag add|replace`` and the Client."""

from __future__ import annotations

import json

import pytest
from flowrun import recorded_runs, refused

pytestmark = pytest.mark.slow


def test_tags_follow_metaflows_rules(ran) -> None:  # type: ignore[no-untyped-def]
    project, run_id = ran
    for bad, needle in [
        ("", "A tag must not be an empty string"),
        ("x" * 501, "is 501 characters long; a tag may have at most 500"),
        ("x" * 100_000, "is 100,000 characters long"),
    ]:
        refused(project.run("flow.py", "run", "--tag", bad), "Invalid tag", needle)
        refused(project.run("flow.py", "resume", "--tag", bad), needle)
        refused(project.run("flow.py", "tag", "add", "--run-id", run_id, bad), needle)
        refused(
            project.run(
                "flow.py", "tag", "replace", "--run-id", run_id, "--remove", "x", "--add", bad
            ),
            needle,
        )
    assert len(recorded_runs(project)) == 1  # none of them started a run
    many = [arg for i in range(51) for arg in ("--tag", f"t{i}")]
    refused(project.run("flow.py", "run", *many), "at most 50 user tags; this would give it 51")
    # Metaflow accepts blank and multi-line tags, and tags of 500 characters.
    ok = project.run("flow.py", "tag", "add", "--run-id", run_id, " ", "a\nb", "x" * 500)
    assert ok.returncode == 0, ok.stderr
    client = project.client(
        f"""
        import json
        from ketch import Run
        from ketch.exceptions import UserError
        run = Run("ErrFlow/{run_id}")
        errors = []
        for call in (lambda: run.add_tag(""), lambda: run.add_tags(["y" * 501]),
                     lambda: run.add_tags("abc"), lambda: run.replace_tag(" ", ""),
                     lambda: run.remove_tag(""),
                     lambda: run.add_tags([f"t{{i}}" for i in range(60)])):
            try:
                call()
                errors.append(None)
            except UserError as exc:
                errors.append(str(exc))
        print(json.dumps({{"errors": errors, "tags": sorted(run.user_tags)}}))
        """
    )
    assert client.returncode == 0, client.stderr
    out = json.loads(client.stdout)
    assert None not in out["errors"], out["errors"]
    assert "at most 50 user tags" in out["errors"][-1]
    assert out["tags"] == [" ", "a\nb", "x" * 500]
