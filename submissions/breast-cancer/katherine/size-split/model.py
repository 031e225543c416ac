"""Two-stage model: a split on tumour size, then one classifier per side.

Large tumours are mostly malignant and small ones mostly benign; the hard cases
are the exceptions on each side, and the measurements that give them away need
not be the same for small and for large tumours. Each row is routed by its own
worst_area (the largest nucleus area in the image) to the logistic regression
that specialises in its side, so each one learns the weights that matter for
its size.

The threshold is learned, not typed in: a decision tree with one split (a
"stump") finds the worst_area that best separates the diagnoses in
data/train.csv.
"""

import pickle

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

TARGET = "diagnosis"
# The feature the split looks at.
SPLIT_ON = "worst_area"
# Each side keeps at least this many training rows, so that no sub-model
# specialises in a handful of tumours.
MIN_ROWS_PER_SIDE = 40
# How much a training row of the other side counts for a sub-model (its own
# rows count 1). Not 0: the large side holds few benign tumours, and a
# sub-model that saw only a handful of them would learn little about them.
OTHER_SIDE_WEIGHT = 0.2


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]
        self.threshold = None
        self.models = {}  # "small" and "large": the sub-model for each side
        self.labels = []  # both diagnoses, sorted

    def train(self):
        features, labels = self.data[self.X], self.data[self.y]
        self.labels = sorted(labels.unique())

        stump = DecisionTreeClassifier(
            max_depth=1, min_samples_leaf=MIN_ROWS_PER_SIDE, random_state=0
        )
        stump.fit(features[[SPLIT_ON]], labels)
        if stump.tree_.node_count == 1:
            raise ValueError(f"{SPLIT_ON} does not split data/train.csv in two")
        # Node 0 is the root; its threshold is the split the stump chose.
        self.threshold = float(stump.tree_.threshold[0])

        sides = self._sides(features)
        self.models = {}
        for side in ("small", "large"):
            weights = [1.0 if s == side else OTHER_SIDE_WEIGHT for s in sides]
            # 30 correlated features: a stronger L2 penalty than the default
            # (C=0.3 instead of 1) keeps the weights from fitting noise.
            model = make_pipeline(
                StandardScaler(),
                LogisticRegression(C=0.3, max_iter=1000),
            )
            # A pipeline passes "<step name>__<parameter>" to that step.
            model.fit(features, labels, logisticregression__sample_weight=weights)
            self.models[side] = model

    def _sides(self, features):
        # Route every row by its own worst_area, in the rows' order. A row
        # exactly at the threshold goes small, as in the stump.
        sides = [
            "small" if getattr(row, SPLIT_ON) <= self.threshold else "large"
            for row in features.itertuples()
        ]
        return pd.Series(sides, index=features.index)

    def predict(self, items):
        features = items[self.X]
        sides = self._sides(features)
        predictions = pd.Series(None, index=features.index, dtype=object)
        # Each sub-model predicts all of its rows in one call; the answers go
        # back to the rows' own places, so the order is that of items.
        for side, model in self.models.items():
            rows = sides == side
            if rows.any():
                predictions.loc[rows] = model.predict(features[rows])
        return predictions.tolist()

    def predict_proba(self, items):
        features = items[self.X]
        sides = self._sides(features)
        probabilities = pd.DataFrame(0.0, index=features.index, columns=self.labels)
        for side, model in self.models.items():
            rows = sides == side
            if rows.any():
                # classes_ holds the labels in the order of the columns.
                columns = list(model.classes_)
                probabilities.loc[rows, columns] = model.predict_proba(features[rows])
        return probabilities

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
