"""Characters: the faces of a whole video grouped into people, numbered by first appearance.

Chinese whispers over the embedding graph (edges between faces closer than the threshold)
needs no number of people in advance and is what dlib recommends for its embeddings.
Cluster labels are then renumbered in order of first appearance, so "Person 1" is whoever is
seen first, whatever order the algorithm produced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SAME_PERSON_DISTANCE = 0.6  # dlib's own threshold for its face embeddings


def group_faces(embeddings: Sequence[np.ndarray], threshold: float = SAME_PERSON_DISTANCE) -> list[int]:
    """A character number (1, 2, ...) for each embedding, given in order of appearance."""
    if not embeddings:
        return []
    import dlib

    labels = dlib.chinese_whispers_clustering([dlib.vector(e.astype(float).tolist()) for e in embeddings],
                                              threshold)
    numbering: dict[int, int] = {}
    return [numbering.setdefault(label, len(numbering) + 1) for label in labels]
