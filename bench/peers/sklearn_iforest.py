"""Fits scikit-learn's IsolationForest on a labelled CSV and prints JSON timings and AUC.

Usage: python sklearn_iforest.py DATA.csv REPEATS N_JOBS   (N_JOBS: an integer or "default")
Same settings as lookout's example: 100 trees, max_samples 256, contamination 0.05.
fit_seconds includes the training-set scoring that sets offset_ (numeric contamination).
"""

import json
import statistics
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score


def main():
    path, repeats, n_jobs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    n_jobs = None if n_jobs == "default" else int(n_jobs)
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1] != 0
    fits, scores, aucs = [], [], []
    for repeat in range(repeats):
        model = IsolationForest(
            n_estimators=100, max_samples=256, contamination=0.05, n_jobs=n_jobs, random_state=repeat
        )
        start = time.perf_counter()
        model.fit(x)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        s = -model.score_samples(x)
        scores.append(time.perf_counter() - start)
        aucs.append(roc_auc_score(y, s))
    print(json.dumps({
        "rows": len(x),
        "features": x.shape[1],
        "repeats": repeats,
        "n_jobs": "default" if n_jobs is None else n_jobs,
        "fit_seconds": statistics.median(fits),
        "score_seconds": statistics.median(scores),
        "auc": statistics.median(aucs),
    }))


if __name__ == "__main__":
    main()
