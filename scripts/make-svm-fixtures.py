#!/usr/bin/python3
"""Writes fixtures/svm.json: scikit-learn's SVC on small overlapping problems, for test/apps/svm.test.ts.

    /usr/bin/python3 scripts/make-svm-fixtures.py

Needs Debian's python3-sklearn (1.2). Each case: a training set (features rounded to 3 decimals,
so the JSON is exact), a test set, the SVC settings, and what scikit-learn gives: gamma, the
number of support vectors, the one-vs-one decision values on the test set (LIBSVM's sign:
positive for the pair's first class; scikit-learn negates it for two classes, undone here),
the predicted classes, and predict_proba (its Platt folds are random: compared loosely).
Standardization is StandardScaler before SVC, as fitSVM's standardize option.
"""
import json
import os

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blobs(rng, k, d, n_per, spread):
    """k Gaussian blobs in d dims whose centres are `spread` apart on average: they overlap."""
    centres = rng.normal(0, spread, size=(k, d))
    scales = rng.uniform(0.5, 3.0, size=d)  # features on different scales: standardizing matters
    x = np.concatenate([c + rng.normal(0, 1, size=(n_per, d)) for c in centres]) * scales
    y = np.repeat(np.arange(k), n_per)
    p = rng.permutation(len(y))
    return np.round(x[p], 3).astype(np.float32), y[p]


def case(name, rng, k, d, n_train, n_test, kernel, C, gamma='scale', standardize=True):
    x, y = blobs(rng, k, d, (n_train + n_test) // k, 1.2)
    xt, yt, x, y = x[:n_test], y[:n_test], x[n_test:], y[n_test:]
    svc = SVC(kernel=kernel, C=C, gamma=gamma, decision_function_shape='ovo', probability=True, random_state=0, tol=1e-3)
    model = make_pipeline(StandardScaler(), svc) if standardize else svc
    model.fit(x.astype(np.float64), y)
    dec = model.decision_function(xt.astype(np.float64))
    if k == 2:
        dec = -dec  # scikit-learn's two-class sign is the opposite of LIBSVM's
    dec = dec.reshape(len(xt), -1)
    return {
        'name': name, 'kernel': kernel, 'C': C, 'gamma': gamma, 'standardize': standardize, 'classes': k,
        'sklearn_gamma': float(svc._gamma), 'n_support': int(svc.support_.shape[0]),
        'train': {'x': x.flatten().tolist(), 'y': y.tolist(), 'shape': list(x.shape)},
        'test': {'x': xt.flatten().tolist(), 'y': yt.tolist(), 'shape': list(xt.shape)},
        'decision': [round(float(v), 7) for v in dec.flatten()],
        'predicted': model.predict(xt.astype(np.float64)).tolist(),
        'proba': [round(float(v), 6) for v in model.predict_proba(xt.astype(np.float64)).flatten()],
    }


def main():
    rng = np.random.default_rng(13)
    cases = [
        case('rbf-4class', rng, 4, 8, 160, 80, 'rbf', 1.0),
        case('rbf-3class-C10', rng, 3, 6, 120, 60, 'rbf', 10.0),
        case('linear-3class', rng, 3, 10, 120, 60, 'linear', 0.5),
        case('rbf-2class-raw', rng, 2, 5, 100, 50, 'rbf', 2.0, gamma=0.05, standardize=False),
    ]
    out = os.path.join(ROOT, 'fixtures', 'svm.json')
    with open(out, 'w') as f:
        json.dump({'generator': 'scripts/make-svm-fixtures.py', 'sklearn': __import__('sklearn').__version__, 'cases': cases}, f, separators=(',', ':'))
    print(f'wrote {out}: {len(cases)} cases, {os.path.getsize(out)} bytes')


if __name__ == '__main__':
    main()
