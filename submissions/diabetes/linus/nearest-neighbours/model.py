"""k-nearest neighbours regressor: a patient's prediction is the average
progression of the 20 most similar training patients.
"""

import pickle

import pandas as pd
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "progression"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # Scale first, so that age in years and the serum values weigh alike
        # in the distance. A large k averages away much of the noise.
        self.model = make_pipeline(
            StandardScaler(),
            KNeighborsRegressor(n_neighbors=20),
        )

    def train(self):
        self.model.fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        return self.model.predict(items[self.X])

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
