"""Read the latest model selection back from the Client: the chosen model, the ranking, and
each family's learning curve as logged by ``log_metrics``.

    python examples/model_selection.py run
    python examples/model_selection_report.py            # the latest successful run
    python examples/model_selection_report.py 1733...    # a given run id
"""

import sys

from ketch import Flow, Run


def report(run):
    """Print what the run chose and how each family learned; return the best model."""
    data = run.data
    print(f"run {run.pathspec} (max-epochs {data.max_epochs}, seed {data.seed})")
    print(
        f"best model: {data.best_model_name}, validation accuracy "
        f"{data.best_val_accuracy:.3f}, test accuracy {data.test_accuracy:.3f}"
    )
    names = {task.pathspec: task.data.model_name for task in run["train"]}
    curves = {}
    for point in run.metrics.of("val_accuracy"):
        curves.setdefault(names[point.pathspec], []).append(point.value)
    for name, curve in sorted(curves.items(), key=lambda kv: -kv[1][-1]):
        first, best = curve[0], max(curve)
        print(
            f"{name:>10}: {len(curve):3d} rounds, validation accuracy {first:.3f} -> "
            f"{curve[-1]:.3f} (best {best:.3f})"
        )
    return data.best_model


if __name__ == "__main__":
    if len(sys.argv) > 1:
        chosen = Run(f"ModelSelectionFlow/{sys.argv[1]}")
    else:
        chosen = Flow("ModelSelectionFlow").latest_successful_run
    model = report(chosen)
    print(f"the model object: {model!r}")
