"""Classifying questions into refusal categories (see refusal_categories.yaml).

Pure apart from the embedding function it is given: categories in, a probability per category
out, with the nearest example as the explanation of why a category fired.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compliance.config_files import ConfigFileError, parse_yaml

CATEGORIES_FILE = Path(__file__).resolve().parent / "refusal_categories.yaml"

# Training settings: class-balanced L2-regularised logistic regression by full-batch gradient
# descent from zero weights, so the same examples always give the same classifier.
L2 = 0.001
EPOCHS = 3000
LEARNING_RATE = 2.0


class CategoryError(ConfigFileError):
    pass


@dataclass(frozen=True)
class RefusalCategory:
    name: str
    description: str
    threshold: float
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...]
    # A question this far from every example is not of the category, whatever the classifier
    # says: far from all its training data ("x?", "12345") its probability means nothing.
    min_similarity: float = 0.0

    @property
    def sha256(self) -> str:
        payload = json.dumps(
            [
                self.name,
                self.description,
                self.threshold,
                self.examples,
                self.counterexamples,
                self.min_similarity,
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def load_categories(path: Path = CATEGORIES_FILE) -> dict[str, RefusalCategory]:
    data = parse_yaml(path, path.read_text(), CategoryError)
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise CategoryError(path, "categories", "must be a mapping of category names")
    categories = {}
    for name, body in data["categories"].items():
        key = f"categories.{name}"
        if not isinstance(body, dict):
            raise CategoryError(path, key, "must be a mapping")
        unknown = set(body) - {
            "description",
            "threshold",
            "min_similarity",
            "examples",
            "counterexamples",
        }
        if unknown:
            raise CategoryError(path, f"{key}.{sorted(unknown)[0]}", "is not a known key")
        threshold = body.get("threshold", 0.5)
        if not isinstance(threshold, int | float) or not 0 < threshold < 1:
            raise CategoryError(path, f"{key}.threshold", "must be a number between 0 and 1")
        min_similarity = body.get("min_similarity", 0.0)
        if not isinstance(min_similarity, int | float) or not 0 <= min_similarity < 1:
            raise CategoryError(
                path, f"{key}.min_similarity", "must be a number from 0 up to (not including) 1"
            )
        lists = {}
        for field in ("examples", "counterexamples"):
            items = body.get(field)
            if (
                not isinstance(items, list)
                or len(items) < 5
                or not all(isinstance(i, str) and i.strip() for i in items)
            ):
                raise CategoryError(
                    path, f"{key}.{field}", "must be a list of at least 5 questions"
                )
            lists[field] = tuple(items)
        if not isinstance(body.get("description"), str) or not body["description"].strip():
            raise CategoryError(path, f"{key}.description", "is required")
        categories[name] = RefusalCategory(
            name=name,
            description=" ".join(body["description"].split()),
            threshold=float(threshold),
            min_similarity=float(min_similarity),
            examples=lists["examples"],
            counterexamples=lists["counterexamples"],
        )
    return categories


@dataclass(frozen=True)
class Classification:
    category: str
    probability: float
    threshold: float
    nearest_example: str
    nearest_similarity: float
    min_similarity: float = 0.0

    @property
    def fired(self) -> bool:
        return self.probability >= self.threshold and self.nearest_similarity >= self.min_similarity

    def as_json(self) -> dict:
        return {
            "category": self.category,
            "probability": round(self.probability, 3),
            "threshold": self.threshold,
            "fired": self.fired,
            "nearest_example": self.nearest_example,
            "nearest_similarity": round(self.nearest_similarity, 3),
            "min_similarity": self.min_similarity,
        }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _train(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    positives = labels.sum()
    weights_per_sample = np.where(
        labels == 1, len(labels) / (2 * positives), len(labels) / (2 * (len(labels) - positives))
    )
    w = np.zeros(features.shape[1])
    b = 0.0
    for _ in range(EPOCHS):
        gradient = (_sigmoid(features @ w + b) - labels) * weights_per_sample
        w -= LEARNING_RATE * (features.T @ gradient / len(labels) + L2 * w)
        b -= LEARNING_RATE * gradient.mean()
    return w, b


class RefusalClassifier:
    """One classifier per category, trained once on first use."""

    def __init__(
        self,
        categories: dict[str, RefusalCategory],
        embed: Callable[[list[str]], np.ndarray],
    ) -> None:
        self.categories = categories
        self.embed = embed
        self._lock = threading.Lock()
        self._models: dict[str, tuple[np.ndarray, float, np.ndarray]] = {}

    def _model(self, name: str) -> tuple[np.ndarray, float, np.ndarray]:
        with self._lock:
            if name not in self._models:
                category = self.categories[name]
                negatives = list(category.counterexamples)
                for other in self.categories.values():
                    if other.name != name:
                        negatives += [*other.examples, *other.counterexamples]
                positives = self.embed(list(category.examples))
                features = np.vstack([positives, self.embed(negatives)])
                labels = np.array([1.0] * len(positives) + [0.0] * len(negatives))
                w, b = _train(features, labels)
                self._models[name] = (w, b, positives)
            return self._models[name]

    def warm(self) -> None:
        for name in self.categories:
            self._model(name)

    def classify(self, text: str, names: list[str]) -> list[Classification]:
        vector = self.embed([text])[0]
        results = []
        for name in names:
            w, b, positives = self._model(name)
            similarities = positives @ vector
            nearest = int(np.argmax(similarities))
            results.append(
                Classification(
                    category=name,
                    probability=float(_sigmoid(np.array(vector @ w + b))),
                    threshold=self.categories[name].threshold,
                    nearest_example=self.categories[name].examples[nearest],
                    nearest_similarity=float(similarities[nearest]),
                    min_similarity=self.categories[name].min_similarity,
                )
            )
        return results
