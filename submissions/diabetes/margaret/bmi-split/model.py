"""Piecewise-linear model: a split on body-mass index, then one ridge per side.

Body-mass index (bmi) is the strongest single predictor of progression, and
the other measurements need not weigh the same for lean and for heavy
patients. Each row is routed by its own bmi to the ridge regression that
specialises in its half of the patients, so each half gets its own intercept
and slopes.

The threshold is the median bmi of data/train.csv, so each half holds as many
training patients as the other. The column may hold raw values (kg/m2) or
standardised ones: the median follows either.
"""

import pickle

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "progression"
# The feature the split looks at.
SPLIT_ON = "bmi"
# How much a training patient of the other half counts for a sub-model (its
# own patients count 1). Not 0: ten slopes from ~110 noisy patients would
# wobble, and the other half still says something about most features.
OTHER_SIDE_WEIGHT = 0.3


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]
        self.threshold = None
        self.models = {}  # "lower" and "higher": the ridge for each half

    def train(self):
        features, target = self.data[self.X], self.data[self.y]
        self.threshold = float(features[SPLIT_ON].median())

        sides = self._sides(features)
        self.models = {}
        for side in ("lower", "higher"):
            weights = [1.0 if s == side else OTHER_SIDE_WEIGHT for s in sides]
            # Scaling makes the ridge penalty treat every feature alike.
            model = make_pipeline(StandardScaler(), Ridge(alpha=5.0))
            # A pipeline passes "<step name>__<parameter>" to that step.
            model.fit(features, target, ridge__sample_weight=weights)
            self.models[side] = model

    def _sides(self, features):
        # Route every row by its own bmi, in the rows' order. A row exactly at
        # the median goes lower.
        sides = [
            "lower" if getattr(row, SPLIT_ON) <= self.threshold else "higher"
            for row in features.itertuples()
        ]
        return pd.Series(sides, index=features.index)

    def predict(self, items):
        features = items[self.X]
        sides = self._sides(features)
        predictions = pd.Series(0.0, index=features.index)
        # Each ridge predicts all of its rows in one call; the answers go back
        # to the rows' own places, so the order is that of items.
        for side, model in self.models.items():
            rows = sides == side
            if rows.any():
                predictions.loc[rows] = model.predict(features[rows])
        return predictions.tolist()

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
