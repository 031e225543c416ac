"""A single decision tree, at most three questions deep, which a person
can read (sklearn.tree.export_text prints it).
"""

import pickle

import pandas as pd
from sklearn.tree import DecisionTreeClassifier

TARGET = "species"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # Three levels are enough to separate the species in the training data;
        # deeper trees start memorising individual flowers.
        self.model = DecisionTreeClassifier(max_depth=3, random_state=0)

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
