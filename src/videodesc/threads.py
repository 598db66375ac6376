"""How many threads the models' numeric libraries use.

Each library defaults to one thread per core (torch's OpenMP pool, onnxruntime, OpenCV), and on
the 2-core machines videodesc is built for that oversubscribes as soon as anything else runs: a
second videodesc of a batch, ffmpeg, dlib's face thread. A torch operation split over two threads
then waits for whichever is preempted, at every layer. Measured on a 3-min clip's write stage
(Gemma 3 270M scoring short batches): 8-20 s with two threads beside another busy process, 1.7-2.7
s with one (and one thread never lost time on an idle machine). The environment variable
OMP_NUM_THREADS=1 is no answer: it also slows the shot pass, whose decoder threads help.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

MODEL_THREADS = 1  # torch intra-op threads while a small model runs


@contextlib.contextmanager
def torch_threads(torch: Any, count: int = MODEL_THREADS) -> Iterator[None]:
    """Run the block with `count` torch intra-op threads, then put back what was set: the setting
    is process-wide, and other code in the process (a local vision-language model) has its own."""
    before = torch.get_num_threads()
    if before != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if before != count:
            torch.set_num_threads(before)
