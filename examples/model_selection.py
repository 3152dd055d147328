"""Train several model families in parallel, watch them learn, and keep the best one.

    pip install '.[examples]'
    python examples/model_selection.py run
    python examples/model_selection.py run --max-epochs 30 --seed 3   # a second run to compare
    ketch ui                                   # learning curves, the card, compare the two runs
    python examples/model_selection_report.py  # the latest result, read back from the Client

Each family (a linear model trained by SGD, a small neural network, a random forest, gradient
boosting and k-nearest neighbours) is one task of a foreach. Every task logs its learning curve
with ``log_metrics`` (validation accuracy and loss, training accuracy, one point per epoch), the
join keeps the family with the best final validation accuracy, scores it once on the held-out
test rows, and draws the comparison in a card. Read the result back from anywhere:

    >>> from ketch import Flow
    >>> run = Flow("ModelSelectionFlow").latest_successful_run
    >>> run.data.best_model_name, run.data.best_val_accuracy, run.data.test_accuracy
    >>> run.metrics.to_pandas()   # every learning curve (needs pandas)
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from ketch import FlowSpec, Parameter, card, current, log_metrics, step

FAMILIES = "logistic,mlp,forest,boosting,knn"


class ModelSelectionFlow(FlowSpec):
    """Model selection on scikit-learn's handwritten digits (1,797 8x8 images, shipped with
    scikit-learn: nothing is downloaded)."""

    max_epochs = Parameter(
        "max-epochs", default=20, help="Training rounds per model (epochs, trees or data slices)."
    )
    seed = Parameter("seed", default=7, help="Random seed for the splits and the models.")
    families = Parameter(
        "families", default=FAMILIES, help="Comma-separated model families to train."
    )

    @step
    def start(self):
        """Load the digits, split them 60/20/20 into train, validation and test rows."""
        x, y = load_digits(return_X_y=True)
        x_train, x_rest, self.y_train, y_rest = train_test_split(
            x, y, test_size=0.4, random_state=self.seed, stratify=y
        )
        x_val, x_test, self.y_val, self.y_test = train_test_split(
            x_rest, y_rest, test_size=0.5, random_state=self.seed, stratify=y_rest
        )
        scaler = StandardScaler().fit(x_train)
        self.x_train, self.x_val, self.x_test = (
            scaler.transform(a) for a in (x_train, x_val, x_test)
        )
        self.candidates = [name.strip() for name in self.families.split(",") if name.strip()]
        unknown = [name for name in self.candidates if name not in TRAINERS]
        if unknown or not self.candidates:
            raise ValueError(f"--families {self.families!r}: choose among {', '.join(TRAINERS)}")
        print(f"{len(x_train)} train, {len(x_val)} validation, {len(x_test)} test rows")
        self.next(self.train, foreach="candidates")

    @step
    def train(self):
        """Train one family round by round, logging its learning curve."""
        self.model_name = self.input
        trainer = TRAINERS[self.model_name]
        self.curve = []
        for epoch, model in enumerate(trainer(self), start=1):
            point = evaluate(model, self)
            log_metrics(point, step=epoch)
            self.curve.append(point["val_accuracy"])
        # The fitted scikit-learn model itself (not the flow file's Staged view, which a
        # reader of the run could not unpickle without this file).
        self.model = model.model if isinstance(model, Staged) else model
        self.val_accuracy = self.curve[-1]
        print(f"{self.model_name}: validation accuracy {self.val_accuracy:.3f}")
        self.next(self.choose)

    @card(type="blank", id="comparison")
    @step
    def choose(self, inputs):
        """Keep the family with the best final validation accuracy; score it on the test rows."""
        self.scores = {inp.model_name: inp.val_accuracy for inp in inputs}
        self.curves = {inp.model_name: inp.curve for inp in inputs}
        best = max(inputs, key=lambda inp: inp.val_accuracy)
        self.best_model_name, self.best_val_accuracy = best.model_name, best.val_accuracy
        self.best_model = best.model
        self.test_accuracy = float(best.model.score(best.x_test, best.y_test))
        current.card["comparison"].extend(comparison_card(self))
        self.next(self.end)

    @step
    def end(self):
        """Report."""
        for name, score in sorted(self.scores.items(), key=lambda kv: -kv[1]):
            print(f"{name:>18}: validation accuracy {score:.3f}")
        print(
            f"best: {self.best_model_name} (validation {self.best_val_accuracy:.3f}, "
            f"test {self.test_accuracy:.3f})"
        )


# --- the families: each yields its model after every training round --------------------------


def sgd_logistic(flow):
    """Logistic regression trained by stochastic gradient descent, one pass per epoch."""

    model = SGDClassifier(loss="log_loss", alpha=1e-3, random_state=flow.seed)
    classes = np.unique(flow.y_train)
    for _ in range(flow.max_epochs):
        model.partial_fit(flow.x_train, flow.y_train, classes=classes)
        yield model


def mlp(flow):
    """A one-hidden-layer neural network (64 units), one pass of Adam per epoch."""

    model = MLPClassifier(hidden_layer_sizes=(64,), random_state=flow.seed, batch_size=64)
    classes = np.unique(flow.y_train)
    for _ in range(flow.max_epochs):
        model.partial_fit(flow.x_train, flow.y_train, classes=classes)
        yield model


def random_forest(flow):
    """A random forest that grows by 5 trees per round (warm start)."""

    model = RandomForestClassifier(n_estimators=0, warm_start=True, random_state=flow.seed)
    for epoch in range(1, flow.max_epochs + 1):
        model.set_params(n_estimators=5 * epoch)
        model.fit(flow.x_train, flow.y_train)
        yield model


def gradient_boosting(flow):
    """Gradient-boosted trees, fitted once; each round is one more boosting stage."""

    model = GradientBoostingClassifier(
        n_estimators=flow.max_epochs,
        learning_rate=0.3,
        max_depth=2,
        max_features="sqrt",
        random_state=flow.seed,
    ).fit(flow.x_train, flow.y_train)
    for stage in range(1, flow.max_epochs + 1):
        yield Staged(model, stage)


def knn(flow):
    """k-nearest neighbours (k=5) on a growing share of the training rows: a learning curve
    over the amount of data rather than epochs."""

    rows = len(flow.y_train)
    for epoch in range(1, flow.max_epochs + 1):
        keep = max(10, rows * epoch // flow.max_epochs)
        yield KNeighborsClassifier(n_neighbors=5).fit(flow.x_train[:keep], flow.y_train[:keep])


TRAINERS = {
    "logistic": sgd_logistic,
    "mlp": mlp,
    "forest": random_forest,
    "boosting": gradient_boosting,
    "knn": knn,
}


class Staged:
    """A fitted gradient-boosting model seen after its first ``stage`` stages."""

    def __init__(self, model, stage):
        self.model, self.stage = model, stage

    def predict_proba(self, x):
        for stage, proba in enumerate(self.model.staged_predict_proba(x), start=1):
            if stage == self.stage:
                return proba
        raise ValueError(f"the model has fewer than {self.stage} stages")

    def score(self, x, y):
        return float((self.predict_proba(x).argmax(axis=1) == y).mean())


def evaluate(model, flow):
    """The learning-curve point of one round: validation accuracy and loss, train accuracy."""

    proba = model.predict_proba(flow.x_val)
    labels = list(range(proba.shape[1]))
    return {
        "val_accuracy": float((proba.argmax(axis=1) == flow.y_val).mean()),
        "val_loss": float(log_loss(flow.y_val, proba, labels=labels)),
        "train_accuracy": float(model.score(flow.x_train, flow.y_train)),
    }


def comparison_card(flow):
    """The join's card: the ranking, final accuracy per family, and the learning curves."""
    from ketch.cards import Markdown, Table, VegaChart

    ranking = sorted(flow.scores.items(), key=lambda kv: -kv[1])
    bars = {
        "title": "Final validation accuracy",
        "width": 420,
        "height": 220,
        "data": {"values": [{"model": m, "accuracy": round(s, 4)} for m, s in ranking]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "model", "type": "nominal", "sort": "-y", "axis": {"labelAngle": 0}},
            "y": {"field": "accuracy", "type": "quantitative"},
        },
    }
    points = [
        {"model": name, "epoch": epoch, "val_accuracy": round(acc, 4)}
        for name, curve in flow.curves.items()
        for epoch, acc in enumerate(curve, start=1)
    ]
    curves = {
        "title": "Validation accuracy per training round",
        "width": 420,
        "height": 260,
        "data": {"values": points},
        "mark": "line",
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative"},
            "y": {"field": "val_accuracy", "type": "quantitative"},
            "color": {"field": "model", "type": "nominal"},
        },
    }
    return [
        Markdown(
            f"# Best model: {flow.best_model_name}\n\n"
            f"Validation accuracy {flow.best_val_accuracy:.3f}, "
            f"test accuracy {flow.test_accuracy:.3f} ({flow.max_epochs} rounds, seed {flow.seed})."
        ),
        VegaChart(curves),
        VegaChart(bars),
        Table([[m, f"{s:.3f}"] for m, s in ranking], headers=["model", "validation accuracy"]),
    ]


if __name__ == "__main__":
    ModelSelectionFlow()
