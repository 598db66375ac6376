"""The describers' style rules, checked on a candidate: each broken rule is a problem a reviewer reads.

Audio description guidelines (Korean broadcast 화면해설 and English AD alike) ask for present
tense, plain declarative sentences (Korean '~다', not '~니다' or '~요'), what is seen rather than
what is felt or meant, and no "we see" filler when a direct statement works. The checks are word
lists and endings: they catch the common slips of a template or a model, not every one.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?]+[.!?]*")

# Korean: a final syllable with ㅆ under it marks the past (갔다, 먹었다, 했다) or a guess (하겠다);
# 있다 (there is, is -ing) is the one common present verb with that final consonant.
_KO_PRESENT_SS = {"있"}
_KO_POLITE = re.compile(r"(니다|세요|어요|아요|에요|예요|해요|죠|요)[.!?]*$")
_KO_INTERPRETATION = re.compile(r"(처럼 보인|것 같|듯하|듯이|듯한|슬퍼|슬프|기뻐|기쁘|화가 나|화난|행복|불안|걱정|"
                                r"생각한|생각하|느낀|느끼|원한|결심|외로|긴장한|설레|질투)")

_EN_FILLER = re.compile(r"\b(we see|we can see|you can see|we watch|we hear|is seen|are seen|can be seen)\b", re.I)
_EN_PAST = re.compile(r"\b(was|were|had|did|went|came|saw|looked|walked|smiled|frowned|opened|closed|turned|"
                      r"entered|left|sat|stood|took|gave|said|told|ran|got|made|held|picked|stared|nodded|"
                      r"laughed|cried|appeared|arrived|started|stopped|waited|watched|moved|pulled|pushed|"
                      r"dropped|grabbed|reached|raised|shook|knocked|kissed|hugged|wore)\b"
                      r"(?<!\bthe left)(?<!\bher left)(?<!\bhis left)(?<!\btheir left)", re.I)  # "to the left" is a side
_EN_INTERPRETATION = re.compile(r"\b(feels?|felt|sad|sadly|happy|happily|angry|angrily|afraid|scared|worried|"
                                r"wants?|thinks?|decides?|realizes?|realises?|hopes?|wonders?|seems?|"
                                r"appears to|looks like|as if|lonely|nervous|excited|upset|jealous|in love)\b", re.I)


# A single quote between Latin letters is an apostrophe (Min-su's), not a quotation mark.
_QUOTED = re.compile(r"(?<![A-Za-z])'[^']*'(?![A-Za-z])|\"[^\"]*\"|“[^”]*”|‘[^’]*’")


def problems(text: str, language: str) -> list[str]:
    """The style rules `text` breaks, in words a reviewer reads; [] when it follows them all."""
    # Text read off the screen is quoted as it was written ("3년 후?", "ATTRIBUTION 2.5"): its
    # punctuation and tense are not the describer's, so the rules look only outside quotes.
    text = _QUOTED.sub("'X'", text.strip())
    if not text:
        return ["empty"]
    found: list[str] = []
    if text[-1] not in ".!?\"'”’":
        found.append("no full stop at the end")
    if language == "ko":
        found += _korean(text)
    else:
        found += _english(text)
    return found


def style_score(text: str, language: str) -> float:
    """1.0 for a candidate that follows every rule, 0.4 less for each rule broken."""
    return max(0.0, 1.0 - 0.4 * len(problems(text, language)))


def _korean(text: str) -> list[str]:
    found = []
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip(" .!?\"'")]
    for sentence in sentences:
        core = sentence.rstrip(".!?\"'”’ ")
        if _KO_POLITE.search(core):
            found.append("polite ending: use plain '~다'")
        elif not core.endswith("다"):
            found.append("not a plain '~다' sentence")
        elif len(core) >= 2 and _has_ss_final(core[-2]) and core[-2] not in _KO_PRESENT_SS:
            found.append("not present tense")
    if _KO_INTERPRETATION.search(text):
        found.append("interprets feelings or intentions")
    return list(dict.fromkeys(found))


def _has_ss_final(syllable: str) -> bool:
    if not "\uac00" <= syllable <= "\ud7a3":
        return False
    return (ord(syllable) - 0xAC00) % 28 == 20  # ㅆ as the final consonant


def _english(text: str) -> list[str]:
    found = []
    if _EN_FILLER.search(text):
        found.append("'we see' filler: say what is there")
    if _EN_PAST.search(text):
        found.append("not present tense")
    if _EN_INTERPRETATION.search(text):
        found.append("interprets feelings or intentions")
    return found
