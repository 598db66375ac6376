"""Evaluation of scripts: text metrics against human references, and checks that need none.

`videodesc evaluate` is built from one module per job: `inputs` reads the script's output folder
and the reference file, `match` pairs each reference with the cue that overlaps it most,
`tokenize` splits Korean and English into words, `text_metrics` scores the pairs (BLEU, chrF,
ROUGE-L, CIDEr-D, embedding similarity), `checks` measures what needs no reference (speech
overlap, pace, repetition, style, loudness), `evaluate` puts them together, and `report` prints
the table and writes the JSON.
"""

