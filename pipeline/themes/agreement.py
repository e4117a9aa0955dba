"""Agreement between two labelings of the same items: adjusted mutual information (pure).

AMI (Vinh, Epps & Bailey 2010, arithmetic-mean normalisation, as scikit-learn's default):
    AMI = (MI - E[MI]) / (mean(H(U), H(V)) - E[MI])
1 for identical partitions (whatever the label names), about 0 for independent ones. Used to
check that topics recover the planted themes of the demo corpus.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from scipy.special import gammaln


def contingency(a: Sequence[Hashable], b: Sequence[Hashable]) -> np.ndarray:
    if len(a) != len(b):
        raise ValueError("labelings differ in length")
    ia = {label: i for i, label in enumerate(dict.fromkeys(a))}
    ib = {label: i for i, label in enumerate(dict.fromkeys(b))}
    table = np.zeros((len(ia), len(ib)), dtype=np.int64)
    for x, y in zip(a, b, strict=True):
        table[ia[x], ib[y]] += 1
    return table


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def mutual_information(table: np.ndarray) -> float:
    n = table.sum()
    rows, cols = table.sum(1), table.sum(0)
    nz = table > 0
    nij = table[nz].astype(float)
    outer = np.outer(rows, cols)[nz].astype(float)
    return float((nij / n * (np.log(nij * n) - np.log(outer))).sum())


def expected_mutual_information(table: np.ndarray) -> float:
    """E[MI] under the hypergeometric model of random partitions with the same sizes."""
    n = int(table.sum())
    a = table.sum(1).astype(np.int64)
    b = table.sum(0).astype(np.int64)
    emi = 0.0
    lg_n = gammaln(n + 1)
    for ai in a:
        for bj in b:
            lo, hi = max(1, ai + bj - n), min(ai, bj)
            if lo > hi:
                continue
            nij = np.arange(lo, hi + 1, dtype=float)
            term = nij / n * (np.log(n * nij) - np.log(ai * bj))
            log_p = (
                gammaln(ai + 1) + gammaln(bj + 1) + gammaln(n - ai + 1) + gammaln(n - bj + 1)
                - lg_n - gammaln(nij + 1) - gammaln(ai - nij + 1) - gammaln(bj - nij + 1)
                - gammaln(n - ai - bj + nij + 1)
            )
            emi += float((term * np.exp(log_p)).sum())
    return emi


def adjusted_mutual_information(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    table = contingency(a, b)
    if table.shape[0] == table.shape[1] == 1:
        return 1.0  # one class and one cluster: perfect agreement by convention
    mi = mutual_information(table)
    emi = expected_mutual_information(table)
    normaliser = (_entropy(table.sum(1)) + _entropy(table.sum(0))) / 2
    denominator = normaliser - emi
    if abs(denominator) < 1e-15:
        return 0.0
    return float((mi - emi) / denominator)
