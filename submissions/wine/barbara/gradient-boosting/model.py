"""Gradient boosting: 150 small trees, each one correcting the errors of
the trees before it.
"""

import pickle

import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

TARGET = "cultivar"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # Shallow trees, a small learning rate and row subsampling keep the
        # model from memorising the ~90 training wines. random_state fixes the
        # subsamples.
        self.model = GradientBoostingClassifier(
            n_estimators=150,
            learning_rate=0.05,
            max_depth=2,
            subsample=0.8,
            random_state=0,
        )

    def train(self):
        self.model.fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        return self.model.predict(items[self.X])

    def predict_proba(self, items):
        # classes_ holds the labels in the order of predict_proba's columns.
        return pd.DataFrame(
            self.model.predict_proba(items[self.X]),
            columns=self.model.classes_,
            index=items.index,
        )

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
