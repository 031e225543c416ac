"""Starting model for the diabetes playbook: predict how far the disease goes.

camino uses the ``Model`` class below, always from inside this folder:

1. ``Model()`` reads ``data/train.csv`` and names the feature columns
   (``self.X``) and the target column (``self.y``).
2. ``train()`` fits the model on those rows.
3. ``save()`` writes ``model.pkl``. camino reloads that file with pickle and
   predicts with the reloaded object, so keep everything on ``self`` picklable
   (scikit-learn objects and plain data are fine; lambdas and open files are
   not).
4. ``predict(items)`` gets a pandas DataFrame with the ``self.X`` columns and
   returns one number per row, in the same order (no NaN, no infinity).

Run ``camino test`` here to train on ``data/train.csv`` and see your scores on
``data/validate.csv``. Then improve it: try other features, other estimators,
other settings.
"""

import pickle

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# The column to predict: a measure of disease progression one year after the
# baseline visit. Every other column of data/train.csv is a feature: age, sex,
# body-mass index (bmi), blood pressure (bp) and six blood serum measurements
# (s1 to s6).
TARGET = "progression"


class Model:
    def __init__(self):
        # camino starts the model in this folder, so the relative path works.
        self.data = pd.read_csv("data/train.csv")
        self.y = TARGET
        self.X = [column for column in self.data.columns if column != TARGET]

        # Ridge is linear regression with a penalty on large coefficients,
        # which keeps it steady when features move together (s1 and s2 do).
        # Scaling first makes the penalty treat every feature alike.
        self.model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))

    def train(self):
        self.model.fit(self.data[self.X], self.data[self.y])

    def predict(self, items):
        # Select the columns by name: the order of the columns in items does
        # not matter then, and extra columns are ignored.
        return self.model.predict(items[self.X])

    def save(self):
        with open("model.pkl", "wb") as file:
            pickle.dump(self, file)
