"""Box geometry shared by the tracker and the writers: shared area, overlap, containment, and the
person boxes left once the doubles inside bigger ones are dropped.

Boxes are (x, y, width, height) in pixels of one picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")

# A person box this much inside a bigger one is the same person boxed again: YOLOv3-tiny often
# boxes one person twice, whole and torso (IoU 0.36 on a staged walker, under its suppression's 0.45).
CONTAINED = 0.8


def intersection(a: Sequence[int], b: Sequence[int]) -> int:
    """The area two boxes share, in pixels."""
    return max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])) * max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))


def iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection over union of two boxes."""
    shared = intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - shared
    return shared / union if union > 0 else 0.0


def inside(inner: Sequence[int], outer: Sequence[int], share: float = 0.6) -> bool:
    """Whether at least `share` of box `inner` lies inside box `outer`."""
    return intersection(inner, outer) >= share * max(1, inner[2] * inner[3])


def outermost(items: Sequence[Item], box: Callable[[Item], Sequence[int]]) -> list[Item]:
    """The items whose box does not lie (CONTAINED) inside a bigger one kept before it, biggest first."""
    kept: list[Item] = []
    for item in sorted(items, key=lambda i: -(box(i)[2] * box(i)[3])):
        if not any(inside(box(item), box(bigger), CONTAINED) for bigger in kept):
            kept.append(item)
    return kept
