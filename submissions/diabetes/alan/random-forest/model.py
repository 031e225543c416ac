"""Random forest regressor: 300 decision trees, each grown on a bootstrap
sample of the patients; the prediction is the average of the trees.
"""

import pickle

import pandas as pd
from sklearn.ensemble import RandomForestRegressor

TARGET = "progression"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # The target is noisy, so leaves of at least 5 patients and half the
        # features per split smooth the trees. random_state fixes the
        # bootstrap samples and the feature draws.
        self.model = RandomForestRegressor(
            n_estimators=300,
            min_samples_leaf=5,
            max_features=0.5,
            random_state=0,
        )

    def train(self):
        self.model.fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        return self.model.predict(items[self.X])

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
