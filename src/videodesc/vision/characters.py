"""Characters: the faces of a whole video grouped into people, numbered by first appearance.

Chinese whispers over the embedding graph (edges between faces closer than the threshold)
needs no number of people in advance and is what dlib recommends for its embeddings.
Cluster labels are then renumbered in order of first appearance, so "Person 1" is whoever is
seen first, whatever order the algorithm produced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from videodesc.records import Outfit

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


def vote_gender(votes: Sequence[tuple[str, float, float]]) -> tuple[str | None, float | None]:
    """One gender for a person from (gender, confidence, weight) per face.

    Each face's confidence becomes a signed margin (2p - 1: 0 for a coin toss), weighted (bigger,
    clearer faces count more) and averaged; the winner's confidence is 0.5 plus half the mean
    margin. So a man read as female at 0.99 once and as male at 0.9 three times comes out male
    at 0.68: below the floor a writer needs, where a per-shot reading would have flipped.
    """
    total = sum(weight for _, _, weight in votes)
    if not votes or total <= 0:
        return None, None
    margin = sum(weight * (2 * confidence - 1) * (1 if gender == "male" else -1)
                 for gender, confidence, weight in votes) / total
    return ("male" if margin > 0 else "female"), round(0.5 + abs(margin) / 2, 3)


def vote_age(votes: Sequence[tuple[int, float, float]]) -> tuple[int | None, float | None]:
    """One apparent age from (age, confidence, weight) per face: the weighted median, and the mean confidence."""
    if not votes:
        return None, None
    ordered = sorted(votes)
    weights = np.array([confidence * weight for _, confidence, weight in ordered])
    if weights.sum() <= 0:
        return None, None
    middle = int(np.searchsorted(np.cumsum(weights), weights.sum() / 2))
    confidence = float(np.average([c for _, c, _ in ordered], weights=[w for _, _, w in ordered]))
    return int(ordered[min(middle, len(ordered) - 1)][0]), round(confidence, 3)


def outfits(sightings: Sequence[tuple[float, str, float]]) -> list[Outfit]:
    """A character's clothing colour per stretch of the video, from (time, colour, confidence) per keyframe.

    A stretch goes on while the readings agree; one reading that differs is noise (lighting, an
    arm across the chest) and lowers the stretch's confidence, two different ones in a row start
    a new stretch. A colour seen on one keyframe only is no stretch: that keyframe's own fact
    says it already.
    """
    ordered = sorted(sightings)
    stretches: list[list[tuple[float, str, float]]] = []
    noise: list[int] = []
    for i, sighting in enumerate(ordered):
        colour = sighting[1]
        if stretches and colour == stretches[-1][0][1]:
            stretches[-1].append(sighting)
        elif stretches and not (i + 1 < len(ordered) and ordered[i + 1][1] == colour):
            noise[-1] += 1  # a single differing reading
        else:
            stretches.append([sighting])
            noise.append(0)
    found = []
    for stretch, stray in zip(stretches, noise):
        if len(stretch) < 2:
            continue
        share = len(stretch) / (len(stretch) + stray)
        found.append(Outfit(stretch[0][0], stretch[-1][0], stretch[0][1],
                            round(float(np.mean([c for _, _, c in stretch])) * share, 3), len(stretch)))
    return found
