"""examples/model_selection.py, the README's quickstart: it runs, logs a learning curve per model
family, picks the best in the join, draws the comparison card, and reads back from the Client
(examples/model_selection_report.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FLOW = str(EXAMPLES / "model_selection.py")
REPORT = str(EXAMPLES / "model_selection_report.py")
METRICS = {"val_accuracy", "val_loss", "train_accuracy"}


@pytest.mark.slow
def test_the_example_logs_curves_and_keeps_the_best(project: Any) -> None:
    pytest.importorskip("sklearn")
    from ketch import Flow
    from ketch.cards import get_cards

    done = project.run(FLOW, "run", "--max-epochs", "4", "--seed", "1", timeout=180)
    assert done.returncode == 0, done.stderr
    run = Flow("ModelSelectionFlow").latest_successful_run
    assert run is not None
    data = run.data
    assert (data.max_epochs, data.seed) == (4, 1)
    assert set(data.scores) == {"logistic", "mlp", "forest", "boosting", "knn"}
    assert data.best_model_name == max(data.scores, key=data.scores.__getitem__)
    assert data.best_val_accuracy == max(data.scores.values()) > 0.8
    assert 0.8 < data.test_accuracy <= 1.0
    assert f"best: {data.best_model_name}" in done.stdout + done.stderr

    tasks = list(run["train"])
    assert len(tasks) == 5
    for task in tasks:
        points = task.metrics
        assert set(points.names()) == METRICS
        for name in METRICS:
            assert [p.step for p in points.of(name)] == [1, 2, 3, 4]
        curve = [p.value for p in points.of("val_accuracy")]
        assert curve == task.data.curve and curve[-1] == task.data.val_accuracy
    assert len(run.metrics) == 5 * 4 * len(METRICS)

    (choose,) = list(run["choose"])
    (comparison,) = get_cards(choose, id="comparison")
    html = comparison.get()
    assert f"Best model: {data.best_model_name}" in html
    # both charts are in the card (drawn as SVG, or as a spec for the Vega runtime to draw)
    assert "Validation accuracy per training round" in html and "Final validation accuracy" in html

    report = project.run(REPORT, timeout=60)
    assert report.returncode == 0, report.stderr
    assert f"best model: {data.best_model_name}" in report.stdout
    assert "(max-epochs 4, seed 1)" in report.stdout
    assert len([line for line in report.stdout.splitlines() if "4 rounds" in line]) == 5


@pytest.mark.slow
def test_families_and_a_second_run_to_compare(project: Any) -> None:
    pytest.importorskip("sklearn")
    from ketch import Flow

    first = project.run(FLOW, "run", "--max-epochs", "2", "--families", "logistic,knn")
    assert first.returncode == 0, first.stderr
    second = project.run(FLOW, "run", "--max-epochs", "3", "--families", "boosting", "--seed", "2")
    assert second.returncode == 0, second.stderr
    runs = list(Flow("ModelSelectionFlow"))
    assert len(runs) == 2
    latest = runs[0]
    assert latest.data.best_model_name == "boosting" and set(latest.data.scores) == {"boosting"}
    assert [p.step for p in latest.metrics.of("val_loss")] == [1, 2, 3]
    assert set(runs[1].data.scores) == {"logistic", "knn"}
    # the stored model is scikit-learn's own, readable without the flow file
    report = project.run(REPORT)
    assert report.returncode == 0, report.stderr
    assert "the model object: GradientBoostingClassifier(" in report.stdout

    report = project.run(REPORT, runs[1].id)
    assert report.returncode == 0, report.stderr
    assert "(max-epochs 2, seed 7)" in report.stdout

    bad = project.run(FLOW, "run", "--families", "logistic,svm")
    assert bad.returncode != 0
    assert "--families 'logistic,svm': choose among logistic, mlp" in bad.stderr


ROOT = EXAMPLES.parent
IMAGES = ("run.png", "compare.png", "card.png")


def test_the_readme_shows_small_screenshots() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in IMAGES:
        path = ROOT / "docs" / "images" / name
        assert f"](docs/images/{name})" in readme
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size < 300_000


@pytest.mark.slow
def test_the_screenshot_script_captures_the_pages(project: Any) -> None:
    """scripts/screenshots.py (with --quick: two short runs) writes three small PNGs."""
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    problem = None
    if not Path("/usr/bin/chromium").exists():
        problem = "Chromium is not installed at /usr/bin/chromium"
    elif importlib.util.find_spec("playwright") is None:
        problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is not None:
        if os.environ.get("CI"):  # .ci/run installs both: there, their absence is a failure
            pytest.fail(problem)
        pytest.skip(problem)
    out = project.root / "images"
    script = str(ROOT / "scripts" / "screenshots.py")
    done = project.run(script, "--quick", "--out", str(out), timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    from PIL import Image

    for name in IMAGES:
        with Image.open(out / name) as image:
            assert image.width == 1280 and 300 <= image.height <= 1600
        assert (out / name).stat().st_size < 300_000
