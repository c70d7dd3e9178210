"""Latent semantic analysis of item texts: TF-IDF over a vocabulary, then a truncated SVD.

Hand-written because no TensorFlow or TF Transform piece computes an SVD text encoder;
the sparse SVD itself is scipy's (``scipy.sparse.linalg.svds``, pinned in requirements.lock).

Example:
    >>> texts = ["toy story", "toy story 2", "the shining", "the shining 2", "toys"]
    >>> model = fit_lsa(texts, dim=2)
    >>> model.tokens
    ('2', 'shining', 'story', 'the', 'toy')
    >>> model.encode(["Toy Story 3", "unknown words"]).shape
    (2, 2)
"""
from __future__ import annotations

import collections
import dataclasses
import re
from typing import Iterable, List, Sequence, Tuple

import numpy as np
from scipy import sparse
from scipy.sparse import linalg

# Word characters: letters, numbers and "_". Python's Unicode ``\w`` and this RE2 class
# (used in the exported graph) agree on every code point assigned in Python's Unicode
# database; code points assigned only in RE2's newer tables are words in the graph alone.
WORD_RE = re.compile(r"\w+")
GRAPH_NON_WORD = r"[^\pL\pN_]+"
SEED = 0


def tokenize(text: str) -> List[str]:
    """Lower-cased ``\\w+`` runs: exactly the exported graph's tokens (see ``WORD_RE``).

    >>> tokenize("Toy Story (1995)")
    ['toy', 'story', '1995']
    """
    return WORD_RE.findall(text.lower())


@dataclasses.dataclass(frozen=True)
class LsaModel:
    """Token ``vectors`` [vocabulary, dim] and their ``idf`` [vocabulary], rows in ``tokens`` order."""

    tokens: Tuple[str, ...]
    idf: np.ndarray
    vectors: np.ndarray

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The L2-normalized TF-IDF-weighted mean of known token vectors; zeros when none is known."""
        index = {token: i for i, token in enumerate(self.tokens)}
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            ids = [index[t] for t in tokenize(text) if t in index]
            if ids:
                total = (self.idf[ids, None] * self.vectors[ids]).sum(axis=0)
                out[row] = total / max(np.linalg.norm(total), 1e-12)
        return out


def _vocabulary(df: collections.Counter, vocab_size: int) -> List[str]:
    ranked = sorted((token for token, n in df.items() if n >= 2), key=lambda t: (-df[t], t))
    return ranked[:vocab_size]


def _tfidf(docs: List[List[str]], index: dict, idf: np.ndarray) -> sparse.csr_matrix:
    rows, cols = [], []
    for row, doc in enumerate(docs):
        ids = [index[t] for t in doc if t in index]
        rows.extend([row] * len(ids))
        cols.extend(ids)
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(index)))
    counts.sum_duplicates()
    weighted = counts.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    return sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted


def _top_singular(matrix: sparse.csr_matrix, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The top ``k`` singular values (descending) and right singular vectors [columns, k], signs fixed."""
    if k >= min(matrix.shape):
        _, s, vt = np.linalg.svd(matrix.toarray(), full_matrices=False)
        s, vt = s[:k], vt[:k]
    else:
        v0 = np.random.RandomState(SEED).uniform(-1, 1, min(matrix.shape))
        _, s, vt = linalg.svds(matrix, k=k, v0=v0)
        order = np.argsort(-s)
        s, vt = s[order], vt[order]
    signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt), axis=1)])
    return s, (vt * signs[:, None]).T


def fit_lsa(texts: Iterable[str], dim: int = 32, vocab_size: int = 20000) -> LsaModel:
    """Fits token vectors on ``texts``: V·sqrt(S) of the TF-IDF matrix's rank-``dim`` SVD.

    The vocabulary is the ``vocab_size`` tokens in most texts (at least 2; ties by token).
    ``dim`` is capped at min(dim, vocabulary - 1, texts - 1), and at least 1; with an empty
    vocabulary the model has no tokens and encodes every text to ``dim`` zeros.
    """
    docs = [tokenize(text) for text in texts]
    df = collections.Counter(token for doc in docs for token in set(doc))
    tokens = _vocabulary(df, vocab_size)
    if not tokens:
        return LsaModel((), np.zeros(0, np.float32), np.zeros((0, dim), np.float32))
    idf = np.log((1 + len(docs)) / (1 + np.array([df[t] for t in tokens], np.float64))) + 1
    matrix = _tfidf(docs, {t: i for i, t in enumerate(tokens)}, idf)
    k = max(1, min(dim, len(tokens) - 1, len(docs) - 1))
    s, v = _top_singular(matrix, k)
    vectors = v * np.sqrt(s)[None, :]
    return LsaModel(tuple(tokens), idf.astype(np.float32), vectors.astype(np.float32))
