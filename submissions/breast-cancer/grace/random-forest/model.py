"""Random forest: 300 decision trees, each grown on a bootstrap sample of
the tumours; the forest answers with their averaged vote.
"""

import pickle

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

TARGET = "diagnosis"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # Trees split on one feature at a time, so no scaling is needed.
        # random_state fixes the bootstrap samples: same data, same forest.
        self.model = RandomForestClassifier(n_estimators=300, random_state=0)

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
