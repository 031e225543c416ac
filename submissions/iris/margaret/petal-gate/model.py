"""Two-stage model: a gate on petal length, then one classifier per side.

Setosa flowers have much shorter petals than the other two species, so a
single threshold on petal_length sets them apart. Each row is routed by its own
petal length: short petals go to the model that specialises in short-petal
flowers, long petals to the one that specialises in long-petal flowers, which
mostly has to tell versicolor from virginica.

The threshold is learned, not typed in: a decision tree with one split (a
"stump") finds the petal length that best separates the species in
data/train.csv.
"""

import pickle

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

TARGET = "species"
# The feature the gate looks at.
GATE = "petal_length"
# Each side keeps at least this many training rows, so that no sub-model
# specialises in a handful of flowers.
MIN_ROWS_PER_SIDE = 15
# How much a training row of the other side counts for a sub-model (its own
# rows count 1). Not 0: one side may hold a single species in training, and a
# sub-model that never saw the others could not name them for an unusual
# flower that lands on its side.
OTHER_SIDE_WEIGHT = 0.2


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]
        self.threshold = None
        self.models = {}  # "short" and "long": the sub-model for each side
        self.labels = []  # every species seen in training, sorted

    @staticmethod
    def _min_rows(rows):
        # A small training table (a public split of a few dozen rows) must
        # still be split: ask for at most a fifth of the rows on each side.
        return max(2, min(MIN_ROWS_PER_SIDE, rows // 5))

    def train(self):
        features, labels = self.data[self.X], self.data[self.y]
        self.labels = sorted(labels.unique())

        stump = DecisionTreeClassifier(
            max_depth=1, min_samples_leaf=self._min_rows(len(labels)), random_state=0
        )
        stump.fit(features[[GATE]], labels)
        if stump.tree_.node_count == 1:
            raise ValueError(f"{GATE} does not split data/train.csv in two")
        # Node 0 is the root; its threshold is the split the stump chose.
        self.threshold = float(stump.tree_.threshold[0])

        sides = self._sides(features)
        self.models = {}
        for side in ("short", "long"):
            weights = [1.0 if s == side else OTHER_SIDE_WEIGHT for s in sides]
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            # A pipeline passes "<step name>__<parameter>" to that step.
            model.fit(features, labels, logisticregression__sample_weight=weights)
            self.models[side] = model

    def _sides(self, features):
        # Route every row by its own petal length, in the rows' order. A row
        # exactly at the threshold goes left, as in the stump.
        sides = [
            "short" if getattr(row, GATE) <= self.threshold else "long"
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
