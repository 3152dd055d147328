"""Train several classifiers in parallel and keep the best one.

Run it with ``python examples/model_selection.py run``; then read the result back:

    >>> from ketch import Flow
    >>> run = Flow("ModelSelectionFlow").latest_successful_run
    >>> run.data.best_model_name, run.data.best_score
"""

from ketch import FlowSpec, Parameter, step


class ModelSelectionFlow(FlowSpec):
    """Load scikit-learn's wine data set, engineer features, train candidate models in
    parallel (one task per model), and pick the most accurate on a held-out split."""

    test_size = Parameter("test_size", default=0.25, help="Fraction of rows held out.")
    seed = Parameter("seed", default=7, help="Random seed for the split and the models.")

    @step
    def start(self):
        """Load the data set that scikit-learn ships."""
        from sklearn.datasets import load_wine

        data = load_wine()
        self.features, self.target = data.data, data.target
        self.feature_names = list(data.feature_names)
        print(f"loaded {self.features.shape[0]} rows x {self.features.shape[1]} features")
        self.next(self.engineer)

    @step
    def engineer(self):
        """Add pairwise ratio features, split, and standardise on the training rows only."""
        import numpy as np
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        ratios = self.features[:, :4] / (self.features[:, 4:8] + 1e-9)
        full = np.hstack([self.features, np.log1p(np.abs(ratios))])
        x_train, x_test, self.y_train, self.y_test = train_test_split(
            full, self.target, test_size=self.test_size, random_state=self.seed,
            stratify=self.target,
        )
        scaler = StandardScaler().fit(x_train)
        self.x_train, self.x_test = scaler.transform(x_train), scaler.transform(x_test)
        self.candidates = ["logistic", "random_forest", "gradient_boosting", "svm", "knn"]
        self.next(self.train, foreach="candidates")

    @step
    def train(self):
        """Fit one candidate model (one task per model, in parallel)."""
        from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.svm import SVC

        makers = {
            "logistic": lambda: LogisticRegression(max_iter=2000),
            "random_forest": lambda: RandomForestClassifier(n_estimators=200, random_state=self.seed),
            "gradient_boosting": lambda: GradientBoostingClassifier(random_state=self.seed),
            "svm": lambda: SVC(C=1.0),
            "knn": lambda: KNeighborsClassifier(n_neighbors=7),
        }
        self.model_name = self.input
        self.model = makers[self.model_name]().fit(self.x_train, self.y_train)
        self.score = float(self.model.score(self.x_test, self.y_test))
        print(f"{self.model_name}: accuracy {self.score:.3f}")
        self.next(self.choose)

    @step
    def choose(self, inputs):
        """Keep the most accurate model."""
        self.scores = {inp.model_name: inp.score for inp in inputs}
        best = max(inputs, key=lambda inp: inp.score)
        self.best_model_name, self.best_score, self.best_model = (
            best.model_name, best.score, best.model,
        )
        self.merge_artifacts(inputs, include=["x_test", "y_test"])
        self.next(self.end)

    @step
    def end(self):
        """Report."""
        for name, score in sorted(self.scores.items(), key=lambda kv: -kv[1]):
            print(f"{name:>18}: {score:.3f}")
        print(f"best: {self.best_model_name} ({self.best_score:.3f})")


if __name__ == "__main__":
    ModelSelectionFlow()
