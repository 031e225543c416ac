"""Support vector classifier with an RBF kernel on scaled features.

An SVC only gives distances to its decision boundaries. To offer
predict_proba, CalibratedClassifierCV turns them into probabilities,
learned on cross-validation folds of the training data.
"""

import pickle

import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

TARGET = "cultivar"


class Model:
    def __init__(self):
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        # Every other column of data/train.csv is a feature.
        self.X = [column for column in self.data.columns if column != TARGET]

        # The RBF kernel measures distances, so the features (hue about 1,
        # proline about 1000) must be scaled. The scaler sits inside the
        # calibrated estimator so that each calibration fold scales with its
        # own training part only. ensemble=False keeps one SVC fitted on all
        # the rows; the folds only serve to calibrate it. The folds are not
        # shuffled, so the result is deterministic.
        self.model = CalibratedClassifierCV(
            make_pipeline(StandardScaler(), SVC(kernel="rbf", C=1.0)),
            ensemble=False,
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
