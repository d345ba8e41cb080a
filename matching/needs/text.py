"""Text similarity of needs and organizations: TF-IDF over character n-grams, cosine by rows.

Works for Chinese without a word segmenter; fitted on the request's own texts, so it is
deterministic and needs nothing from outside the request.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from matching.needs.model import Need
from matching.organization import Organization

FloatArray = npt.NDArray[np.float64]

NGRAMS = (2, 3)
"""Character bigrams and trigrams. Most Chinese words are two characters, so bigrams stand in
for words (the usual segmentation-free unit of Chinese retrieval) and trigrams catch three-
character words and short phrases (青少年, 志愿者, 独居老). Single characters are left out: 社,
区, 服, 务 appear in nearly every text of a round, so they gave every pair a similarity floor
and made the need × organization product dense (about twice as slow)."""

_NOT_WORD = re.compile(r"\W+")
"""Punctuation and spaces; CJK characters, letters and digits are word characters."""
_SPACE = ord(" ")
_BITS = 21
"""Bits of one Unicode code point: an n-gram of up to three is one int64."""


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII), lower case, and every run of
    punctuation or space one space: clauses (，、。) end a word, so no n-gram spans them."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def need_text(need: Need) -> str:
    return need.description


def organization_text(organization: Organization) -> str:
    """What the organization says it does and what it has done."""
    return "\n".join((organization.description, *organization.past_projects))


def tfidf_rows(
    need_texts: Sequence[str], organization_texts: Sequence[str]
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """L2-normalised TF-IDF rows of the needs and of the organizations over one vocabulary,
    so that a cosine similarity is a sparse dot product. Empty texts give zero rows.

    The same vectors as scikit-learn's TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS,
    preprocessor=normalise, sublinear_tf=True) up to the order of the columns (the tests check
    it); the n-grams are counted with numpy, 2-3 times faster than the vectorizer's
    per-n-gram Python loop, which dominated a request's time."""
    counts = ngram_counts([normalise(t) for t in (*need_texts, *organization_texts)])
    n = len(need_texts)
    if counts.shape[1] == 0:
        return counts[:n], counts[n:]
    # 1 + log(tf): an organization naming a topic in every past project should not drown out
    # the rest of what it does. Smoothed IDF and L2 rows, scikit-learn's defaults.
    rows = sp.csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(counts))
    return sp.csr_matrix(rows[:n]), sp.csr_matrix(rows[n:])


def ngram_counts(texts: Sequence[str]) -> sp.csr_matrix:
    """Counts of each text's character bigrams and trigrams (texts × distinct n-grams, float64),
    taken the way scikit-learn's "char_wb" analyzer takes them: within words (runs without a
    space), each padded with one space on either side.

    All texts are joined, each padded, into one array of code points. Words are separated by
    single spaces (normalise), so a window drops out exactly when it spans a gap between words
    or texts: a bigram of two spaces, or a trigram whose middle is a space."""
    padded = [f" {t} " for t in texts]
    owner = np.repeat(np.arange(len(texts)), [len(t) for t in padded])
    chars = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    first, second, third = chars[:-2], chars[1:-1], chars[2:]
    bigram = (chars[:-1] << _BITS) | chars[1:]
    bigram_kept = (chars[:-1] != _SPACE) | (chars[1:] != _SPACE)
    # Trigram codes start at ord(" ") << 42, above every bigram code: the two never collide.
    trigram = (first << (2 * _BITS)) | (second << _BITS) | third
    trigram_kept = second != _SPACE
    codes = np.concatenate((bigram[bigram_kept], trigram[trigram_kept]))
    docs = np.concatenate((owner[:-1][bigram_kept], owner[:-2][trigram_kept]))
    vocabulary, column = np.unique(codes, return_inverse=True)
    counts = sp.csr_matrix(
        (np.ones(len(codes)), (docs, column)), shape=(len(texts), len(vocabulary))
    )
    counts.sum_duplicates()
    return counts


def cosine_block(needs: sp.csr_matrix, organizations_t: sp.csr_matrix) -> FloatArray:
    """Cosine similarity of each need row with every organization, as a dense float64 block
    clipped to [0, 1]; `organizations_t` is the organizations' rows transposed (vocab × orgs)."""
    block = np.asarray((needs @ organizations_t).toarray(), dtype=np.float64)
    # Rounding can put identical texts a hair above 1; TF-IDF weights are never negative.
    np.minimum(block, 1.0, out=block)
    return block


def cosine_pair(needs: sp.csr_matrix, organizations: sp.csr_matrix, need: int, org: int) -> float:
    """One need's cosine similarity with one organization (rows of tfidf_rows)."""
    a = slice(needs.indptr[need], needs.indptr[need + 1])
    b = slice(organizations.indptr[org], organizations.indptr[org + 1])
    _, ia, ib = np.intersect1d(
        needs.indices[a], organizations.indices[b], assume_unique=True, return_indices=True
    )
    if len(ia) == 0:
        return 0.0
    value = float(np.dot(needs.data[a][ia], organizations.data[b][ib]))
    return min(value, 1.0)
