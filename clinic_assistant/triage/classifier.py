"""The learned second opinion of triage: word and character n-grams, logistic regression.

Trained on the train split of the corpus (corpus.py) plus the bot's own NLU training
examples as ordinary messages; its threshold is chosen on the dev split: the lowest
threshold (most recall) at which the classifier adds at most
``MAX_ADDED_FALSE_ALARMS`` to the false alarms the rules alone raise on the dev near
misses. The test split is never read here.

A message is urgent when the rules *or* this classifier say so. The classifier also
names the most likely category, whose tier is used when the rules found nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

MAX_ADDED_FALSE_ALARMS = 0.015
THRESHOLDS = [round(0.05 + 0.01 * i, 2) for i in range(91)]  # 0.05 .. 0.95
NEVER = 1.01  # a threshold no probability reaches


@dataclass
class ClassifierModel:
    pipeline: Any  # sklearn Pipeline: text -> P(urgent)
    categories: Any  # sklearn Pipeline: text -> category (trained on emergencies only)
    threshold: float
    meta: dict[str, Any]
    _fast: "FastScorer | None" = None

    def urgency(self, texts: list[str]) -> np.ndarray:
        return self.pipeline.predict_proba(texts)[:, 1]

    def score(self, text: str) -> float:
        """P(urgent) for one text, as ``urgency`` computes it, in ~0.1 ms instead of ~1 ms
        (sklearn's per-call overhead dominates for one short message)."""
        if self._fast is None:
            self._fast = FastScorer(self.pipeline)
        return self._fast(text)

    def category(self, text: str) -> str:
        return str(self.categories.predict([text])[0])


class FastScorer:
    """The fitted binary pipeline's P(urgent) for one text, computed with dicts:
    each TF-IDF part (sublinear tf, idf, L2 norm) dotted with its slice of the weights."""

    def __init__(self, pipeline: Any) -> None:
        union, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
        coef = clf.coef_[0]
        self._intercept = float(clf.intercept_[0])
        self._parts = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            vocabulary = vectorizer.vocabulary_
            idf = vectorizer.idf_
            weights = {term: (float(idf[i]), float(coef[offset + i]))
                       for term, i in vocabulary.items()}
            self._parts.append((vectorizer.build_analyzer(), weights))
            offset += len(vocabulary)

    def __call__(self, text: str) -> float:
        import math

        z = self._intercept
        for analyse, weights in self._parts:
            counts: dict[str, int] = {}
            for term in analyse(text):
                if term in weights:
                    counts[term] = counts.get(term, 0) + 1
            values = [((1.0 + math.log(n)) * weights[t][0], weights[t][1])
                      for t, n in counts.items()]
            norm = math.sqrt(sum(v * v for v, _ in values)) or 1.0
            z += sum(v * w for v, w in values) / norm
        return 1.0 / (1.0 + math.exp(-z))


def _features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                  sublinear_tf=True)),
    ])


def train(texts: list[str], urgent: list[bool], categories: list[str]) -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    binary = Pipeline([("features", _features()),
                       ("clf", LogisticRegression(C=4.0, max_iter=2000,
                                                  class_weight="balanced"))])
    binary.fit(texts, [int(u) for u in urgent])
    emergencies = [(t, c) for t, u, c in zip(texts, urgent, categories, strict=True) if u]
    multi = Pipeline([("features", _features()),
                      ("clf", LogisticRegression(C=4.0, max_iter=2000))])
    multi.fit([t for t, _ in emergencies], [c for _, c in emergencies])
    return binary, multi


def choose_threshold(scores: Iterable[float], urgent: Iterable[bool],
                     rules_fired: Iterable[bool]) -> tuple[float, dict[str, float]]:
    """The lowest threshold at which rules-or-classifier raises at most
    MAX_ADDED_FALSE_ALARMS more dev false alarms than the rules alone; with its dev
    recall and false-alarm rate."""
    s, u, r = np.array(list(scores)), np.array(list(urgent)), np.array(list(rules_fired))
    rules_alone = float(r[~u].mean()) if (~u).any() else 0.0
    best = None
    for t in THRESHOLDS:
        flagged = r | (s >= t)
        false_alarms = float(flagged[~u].mean()) if (~u).any() else 0.0
        if false_alarms <= rules_alone + MAX_ADDED_FALSE_ALARMS:
            recall = float(flagged[u].mean())
            best = (t, {"dev_recall": recall, "dev_false_alarms": false_alarms,
                        "dev_rules_recall": float(r[u].mean()),
                        "dev_rules_false_alarms": rules_alone})
            break
    if best is None:  # even the highest threshold adds too many: the classifier is off
        flagged = r
        best = (NEVER, {"dev_recall": float(flagged[u].mean()),
                        "dev_false_alarms": float(flagged[~u].mean()),
                        "dev_rules_recall": float(r[u].mean()),
                        "dev_rules_false_alarms": rules_alone})
    return best


def save(model: ClassifierModel, path: Path) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)


def load(path: Path) -> ClassifierModel:
    import joblib

    model = joblib.load(path)  # our own build output (build/triage), never user data
    if not isinstance(model, ClassifierModel):
        raise TypeError(f"{path} is not a triage classifier")
    return model


Normaliser = Callable[[str], str]
