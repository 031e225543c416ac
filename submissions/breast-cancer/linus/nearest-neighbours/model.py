"""k-nearest neighbours: a tumour gets the diagnosis of the 9 training
tumours closest to it, the closer ones weighing more.
"""

import pickle

import pandas as pd
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "diagnosis"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # Distances mix all 30 measurements, so scale them first: otherwise
        # the areas (hundreds) would drown the smoothness values (below 0.2).
        self.model = make_pipeline(
            StandardScaler(),
            KNeighborsClassifier(n_neighbors=9, weights="distance"),
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
