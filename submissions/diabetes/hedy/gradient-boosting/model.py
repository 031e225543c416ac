"""Gradient boosting regressor: 200 small trees, each one fitted to what
the trees before it got wrong.
"""

import pickle

import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

TARGET = "progression"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # Shallow trees, a small learning rate and row subsampling keep the
        # model from chasing the noise in ~220 patients. random_state fixes
        # the subsamples.
        self.model = GradientBoostingRegressor(
            n_estimators=200,
            learning_rate=0.03,
            max_depth=2,
            subsample=0.8,
            random_state=0,
        )

    def train(self):
        self.model.fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        return self.model.predict(items[self.X])

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
