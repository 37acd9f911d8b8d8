"""Optional `implicit` ALS term for visitors with many likes (off by default: see docs/recommendation.md).

Item factors come from the periodic rebuild; a visitor's factor is solved at request time from
their current likes with the closed-form ALS user step, so new likes count at once.
"""

from __future__ import annotations

import io

import numpy as np
from scipy.sparse import csr_matrix


class ALSFactors:
    def __init__(self, *, item_ids: np.ndarray, item_factors: np.ndarray, regularization: float, alpha: float):
        self.item_ids = item_ids
        self.item_factors = item_factors.astype(np.float32)
        self.index = {int(i): n for n, i in enumerate(item_ids)}
        self.regularization = regularization
        self.alpha = alpha
        self.gram = self.item_factors.T @ self.item_factors

    def user_vector(self, liked_ids) -> np.ndarray | None:
        rows = [self.index[i] for i in liked_ids if i in self.index]
        if not rows:
            return None
        y = self.item_factors[rows]
        k = y.shape[1]
        # ALS user step with confidence 1 + alpha on liked items, 1 elsewhere (Hu, Koren, Volinsky).
        a = self.gram + self.alpha * (y.T @ y) + self.regularization * np.eye(k, dtype=np.float32)
        b = (1 + self.alpha) * y.sum(axis=0)
        return np.linalg.solve(a, b)

    def scores(self, user: np.ndarray, item_ids) -> np.ndarray:
        out = np.zeros(len(item_ids), dtype=np.float64)
        for n, item in enumerate(item_ids):
            row = self.index.get(int(item))
            if row is not None:
                out[n] = float(self.item_factors[row] @ user)
        return out

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            item_ids=self.item_ids,
            item_factors=self.item_factors,
            params=np.array([self.regularization, self.alpha]),
        )
        return buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes) -> ALSFactors | None:
        if not data:
            return None
        with np.load(io.BytesIO(bytes(data))) as npz:
            reg, alpha = npz["params"]
            return cls(item_ids=npz["item_ids"], item_factors=npz["item_factors"], regularization=float(reg), alpha=float(alpha))


def fit_als(
    *, users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, factors: int = 32, iterations: int = 15, alpha: float = 10.0
) -> ALSFactors | None:
    """Fit implicit's ALS on (user, item) like pairs; item ids are the column indices."""
    if len(users) == 0:
        return None
    import threadpoolctl
    from implicit.als import AlternatingLeastSquares

    matrix = csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    regularization = 0.05
    with threadpoolctl.threadpool_limits(1, "blas"):  # implicit warns (and slows) with threaded BLAS
        model = AlternatingLeastSquares(
            factors=factors, iterations=iterations, regularization=regularization, alpha=alpha, random_state=7, use_gpu=False
        )
        model.fit(matrix, show_progress=False)
    return ALSFactors(item_ids=np.arange(n_items), item_factors=np.asarray(model.item_factors), regularization=regularization, alpha=alpha)
