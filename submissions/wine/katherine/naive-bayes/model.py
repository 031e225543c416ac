"""Gaussian naive Bayes: for each cultivar, every feature is modelled as a
normal distribution, and a wine gets the cultivar under which its
measurements are most likely.
"""

import pickle

import pandas as pd
from sklearn.naive_bayes import GaussianNB

TARGET = "cultivar"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # The per-class means and variances carry the units, so no scaling is
        # needed, and there is nothing random to fix.
        self.model = GaussianNB()

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
