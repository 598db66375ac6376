"""Render: the spoken cues mixed into the programme sound, and the described media written out.

`mix` ducks the programme under each cue, sets the voice at the dialogue level and normalises the
sum to a loudness target; `mux` puts the described mix beside the original sound in an MP4 or MKV
(with the description text as a subtitle track) or alone in an M4A.
"""
