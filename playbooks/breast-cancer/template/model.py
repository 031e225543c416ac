"""Starting model for the breast-cancer playbook: is a tumour malignant or benign?

camino uses the ``Model`` class below, always from inside this folder:

1. ``Model()`` reads ``data/train.csv`` and names the feature columns
   (``self.X``) and the target column (``self.y``).
2. ``train()`` fits the model on those rows.
3. ``save()`` writes ``model.pkl``. camino reloads that file with pickle and
   predicts with the reloaded object, so keep everything on ``self`` picklable
   (scikit-learn objects and plain data are fine; lambdas and open files are
   not).
4. ``predict(items)`` gets a pandas DataFrame with the ``self.X`` columns and
   returns one label per row, in the same order.
5. ``predict_proba(items)`` is optional: one column per label, one row per item.
   When every model has it, the ensemble built from the leaderboard can average
   probabilities instead of counting votes.

Run ``camino test`` here to train on ``data/train.csv`` and see your scores on
``data/validate.csv``. Then improve it: try other features, other estimators,
other settings.
"""

import pickle

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# The column to predict: malignant or benign. Every other column of
# data/train.csv is a feature: 30 measurements of the cell nuclei in a
# digitised image (mean, standard error and worst value of radius, texture,
# area, smoothness and six more).
TARGET = "diagnosis"


class Model:
    def __init__(self):
        # camino starts the model in this folder, so the relative path works.
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        self.X = [column for column in self.data.columns if column != TARGET]

        # The features live on very different scales (areas in the hundreds,
        # smoothness below 0.2). Scaling gives each mean 0 and variance 1, so
        # the logistic regression's regularisation treats them alike.
        self.model = make_pipeline(
            StandardScaler(),
            LogisticRegression(max_iter=1000),
        )

    def train(self):
        self.model.fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        # Select the columns by name: the order of the columns in items does
        # not matter then, and extra columns are ignored.
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
