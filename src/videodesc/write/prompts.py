"""The words a model-backed writer sends: style rules, the slot's facts, and a request for candidates.

The prompts live beside this module as one Markdown file per language (`prompts/ko.md`,
`prompts/en.md`) so that a describer can edit the wording without touching code. Each file has
`## system`, `## candidates`, `## shorten` and `## labels` sections; `$name` placeholders are
filled here (string.Template, so JSON braces in the text need no escaping).

The chat endpoint backend and the local transformers backend both build their requests from
`candidates_prompt` / `shorten_prompt` and read the answers with `parse_candidates`, so the
same slot gets the same instructions whichever model writes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from videodesc.errors import InputError
from videodesc.records import Face, ShotFacts
from videodesc.vision.reliable import ConfidenceFloors, reliable_facts
from videodesc.write.backends.template import TemplateWriter
from videodesc.write.context import SlotContext
from videodesc.write.marked import marked_keyframes
from videodesc.write.speaking import SpeakingRate
from videodesc.write.vocabulary import OBJECTS, Term, tag_term

PROMPTS = Path(__file__).with_name("prompts")
LANGUAGES = ("ko", "en")
SECTIONS = ("system", "candidates", "shorten", "labels")

MAX_PREVIOUS = 5  # earlier descriptions shown to the model: enough to avoid repeats, short enough to read
MAX_UTTERANCE_CHARS = 200
MAX_TAGS = 3
MAX_TEXT_LINES = 3

# Expression classes (fer's seven) in words for what a face shows, not what a person feels.
_EXPRESSION = {
    "ko": {"happy": "미소 띤 얼굴", "sad": "어두운 표정", "angry": "찌푸린 얼굴", "surprise": "놀란 표정",
           "fear": "굳은 표정", "disgust": "찡그린 얼굴"},
    "en": {"happy": "smiling", "sad": "downcast face", "angry": "frowning", "surprise": "wide-eyed",
           "fear": "tense face", "disgust": "grimacing"},
}
# Apparent age is never said as a number: only as a word, and only when the estimate was sure.
_AGE_BANDS = ((13, "child"), (20, "teen"), (35, "young"), (60, "middle"), (200, "old"))
_PERSON = {
    "ko": {("child", "male"): "남자아이", ("child", "female"): "여자아이", ("child", None): "아이",
           ("teen", "male"): "십대 남자", ("teen", "female"): "십대 여자", ("teen", None): "십대",
           ("young", "male"): "젊은 남자", ("young", "female"): "젊은 여자", ("young", None): "젊은 사람",
           ("middle", "male"): "중년 남자", ("middle", "female"): "중년 여자", ("middle", None): "중년",
           ("old", "male"): "나이 든 남자", ("old", "female"): "나이 든 여자", ("old", None): "나이 든 사람",
           (None, "male"): "남자", (None, "female"): "여자"},
    "en": {("child", "male"): "boy", ("child", "female"): "girl", ("child", None): "child",
           ("teen", "male"): "teenage boy", ("teen", "female"): "teenage girl", ("teen", None): "teenager",
           ("young", "male"): "young man", ("young", "female"): "young woman", ("young", None): "young adult",
           ("middle", "male"): "middle-aged man", ("middle", "female"): "middle-aged woman",
           ("middle", None): "middle-aged person",
           ("old", "male"): "old man", ("old", "female"): "old woman", ("old", None): "old person",
           (None, "male"): "man", (None, "female"): "woman"},
}


@dataclass
class Prompt:
    """One request to a model: a system message, a user message and the pictures that go with it."""

    system: str
    user: str
    images: list[Path] = field(default_factory=list)  # keyframes, absolute paths, in time order
    image_labels: list[str] = field(default_factory=list)  # a caption per image ("Keyframe 1 of 3")
    echoes: set[str] = field(default_factory=set)  # lines of the request a model may parrot back

    def fresh(self, candidates: list[str]) -> list[str]:
        """`candidates` without those that only repeat the request: dialogue, earlier descriptions, instructions."""
        return [c for c in candidates if not _is_echo(_echo_key(c), self.echoes)]


@dataclass
class Budget:
    """How much may be said: seconds, and the same in syllables (Korean) or words (English)."""

    seconds: float
    max_units: int
    unit: str  # "자" or "words", as the prompt file words it

    def targets(self, count: int) -> list[int]:
        """`count` target lengths from about 40 % of the budget up to all of it, shortest first."""
        floor = 4 if self.unit != "words" else 2
        top = max(self.max_units, floor)
        low = max(floor, round(top * 0.4))
        if count <= 1:
            return [top]
        step = (top - low) / (count - 1)
        return [max(floor, round(low + step * i)) for i in range(count)]


@functools.lru_cache(maxsize=None)
def _sections(language: str) -> dict[str, str]:
    if language not in LANGUAGES:
        raise InputError(f"no writer prompts for language {language!r}: use one of {', '.join(LANGUAGES)}")
    text = (PROMPTS / f"{language}.md").read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    current = None
    lines: list[str] = []
    for line in text.splitlines():
        heading = re.match(r"^## (\w+)\s*$", line)
        if heading:
            if current:
                sections[current] = "\n".join(lines).strip()
            current, lines = heading.group(1), []
        elif current:
            lines.append(line)
    if current:
        sections[current] = "\n".join(lines).strip()
    missing = [name for name in SECTIONS if name not in sections]
    if missing:
        raise InputError(f"prompt file {language}.md lacks the sections {', '.join(missing)}")
    return sections


@functools.lru_cache(maxsize=None)
def _labels(language: str) -> dict[str, str]:
    labels = {}
    for line in _sections(language)["labels"].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            labels[key.strip()] = value.strip()
    return labels


def system_prompt(language: str) -> str:
    """The describers' style rules in `language` ("ko" or "en")."""
    return _sections(language)["system"]


def prompt_fingerprint(language: str) -> str:
    """A short hash of the prompt file: part of a cache key, so edited prompts are asked anew."""
    return hashlib.sha256((PROMPTS / f"{language}.md").read_bytes()).hexdigest()[:12]


def budget(seconds: float, language: str, rate: SpeakingRate | None = None) -> Budget:
    """The length budget of a slot of `seconds`, at the describer's speaking rate."""
    rate = rate or SpeakingRate()
    per_second = rate.ko_syllables_per_second if language == "ko" else rate.en_words_per_second
    return Budget(round(seconds, 1), max(1, int(seconds * per_second)), _labels(language)["unit"])


def keyframe_paths(context: SlotContext, max_images: int) -> list[Path]:
    """Up to `max_images` keyframes of the main shot, evenly spread, that exist on disk."""
    shot = context.main_shot
    if shot is None or max_images <= 0:
        return []
    files = [context.folder / path for path in shot.keyframes]
    files = [path for path in files if path.is_file()]
    if len(files) > max_images:
        step = (len(files) - 1) / (max_images - 1) if max_images > 1 else 0
        picked = sorted({round(i * step) for i in range(max_images)}) if max_images > 1 else [len(files) // 2]
        files = [files[i] for i in picked]
    return files


def _shot_before(context: SlotContext) -> Path | None:
    """The last keyframe of the shot before the main one, when the context holds it and it is on disk."""
    shot = context.previous_shot
    if shot is None or not shot.keyframes:
        return None
    path = context.folder / shot.keyframes[-1]
    return path if path.is_file() else None


def _age_band(age: int | None) -> str | None:
    if age is None:
        return None
    return next(band for limit, band in _AGE_BANDS if age < limit)


def _person_words(face: Face, language: str) -> list[str]:
    words = []
    expression = _EXPRESSION[language].get(face.expression or "")
    if expression:
        words.append(expression)
    key = (_age_band(face.age), face.gender if face.gender in ("male", "female") else None)
    if key != (None, None):
        words.append(_PERSON[language][key])
    return words


def facts_lines(context: SlotContext, floors: ConfidenceFloors | None = None) -> list[str]:
    """The sure facts of the main shot, one line per kind, in the context's language."""
    shot = context.main_shot
    if shot is None or shot.facts is None:
        return []
    language = context.language
    labels = _labels(language)
    facts: ShotFacts = reliable_facts(shot.facts, floors, context.characters)
    lines = []

    people: dict[str, list[str]] = {}
    for face in facts.faces:
        words = people.setdefault(face.character, [])
        for word in _person_words(face, language):
            if word not in words:
                words.append(word)
    if people:
        entries = []
        for character_id, words in people.items():
            character = context.characters.get(character_id)
            notes = list(words)
            if character is not None and not character.name:
                notes.insert(0, labels["unnamed"])
            if character_id not in context.introduced:
                notes.append(labels["first"])
            name = context.character_name(character_id)
            entries.append(f"{name} ({', '.join(notes)})" if notes else name)
        lines.append(f"- {labels['people']}: " + ", ".join(entries))

    counts: dict[str, int] = {}
    for hint in facts.objects:
        label = _in_language(hint.label, OBJECTS.get(hint.label), language)
        counts[label] = counts.get(label, 0) + 1
    if counts:
        lines.append(f"- {labels['objects']}: "
                     + ", ".join(label if n == 1 else f"{label} × {n}" for label, n in counts.items()))

    tags = []
    for tag in facts.tags:
        label = _in_language(tag.label, tag_term(tag.label), language)
        if label not in tags:
            tags.append(label)
    if tags:
        lines.append(f"- {labels['tags']}: " + ", ".join(tags[:MAX_TAGS]))

    # Burned-in subtitles repeat the dialogue; only scene text (signs, documents) is a fact to read.
    texts = []
    for line in facts.text:
        if line.kind == "scene" and line.text.strip() and line.text.strip() not in texts:
            texts.append(line.text.strip())
    if texts:
        lines.append(f"- {labels['text']}: " + ", ".join(json.dumps(t, ensure_ascii=False)
                                                        for t in texts[:MAX_TEXT_LINES]))
    # What the offline grammar would say of the slot: the people's actions, the events as they
    # happen in it, the place, each built from sure facts and without what was told already.
    observed = [sentence.text(language) for sentence in TemplateWriter(floors).sentences(context)]
    if observed:
        lines.append(f"- {labels['observed']}: " + " ".join(observed))
    return lines


def _quoted_lines(texts: list[str], none: str) -> str:
    lines = []
    for text in texts:
        text = " ".join(text.split())
        if len(text) > MAX_UTTERANCE_CHARS:
            text = text[:MAX_UTTERANCE_CHARS].rstrip() + "…"
        if text:
            lines.append(f"- {json.dumps(text, ensure_ascii=False)}")
    return "\n".join(lines) if lines else none


def _example(count: int) -> str:
    return json.dumps({"candidates": ["..."] * max(1, count)})


def _targets_text(targets: list[int], unit: str) -> str:
    return ", ".join(f"{n}{unit}" if unit == "자" else f"{n} {unit}" for n in targets)


def candidates_prompt(context: SlotContext, count: int, *, images: bool = True, max_images: int = 3,
                      rate: SpeakingRate | None = None, floors: ConfidenceFloors | None = None) -> Prompt:
    """The request for `count` descriptions of the slot in `context`, of different lengths.

    Args:
        context: the slot, its shots' facts, the dialogue around it and earlier descriptions.
        count: how many candidates to ask for.
        images: attach the main shot's keyframes (for models that see pictures), the last one of
            the shot before first when there is one, known faces marked on all (write/marked.py).
        max_images: at most this many images.
        rate: the describer's speaking rate, for the length budget.
        floors: confidence floors below which a fact is not mentioned.

    Returns:
        A Prompt whose `user` text names the facts, dialogue, previous descriptions and budget.
    """
    language = context.language
    sections, labels = _sections(language), _labels(language)
    # One picture of the shot before, for what changed, in place of one of the main shot's.
    before = _shot_before(context) if images and max_images > 1 else None
    frames = keyframe_paths(context, max_images - (before is not None)) if images else []
    if not frames:
        before = None
    marked = marked_keyframes(context, frames, floors)
    if before is not None:
        marked = marked_keyframes(context, [before], floors, context.previous_shot) + marked
    lines = facts_lines(context, floors)
    if lines:
        facts = "\n".join(lines)
    else:
        facts = labels["nothing"] if frames else labels["no_facts_no_images"]
    if len(frames) == 1:
        images_note = labels["images_one"]
    elif frames:
        images_note = Template(labels["images_many"]).safe_substitute(n=len(frames))
    else:
        images_note = ""
    if before is not None:
        images_note = labels["image_before"] + " " + images_note
    if any("marked" in path.parts for path in marked):
        images_note += " " + labels["marked"]
    size = budget(context.budget_seconds or context.slot.duration, language, rate)
    targets = size.targets(count)
    user = Template(sections["candidates"]).safe_substitute(
        start=f"{context.slot.start:.1f}", end=f"{context.slot.end:.1f}", seconds=f"{size.seconds:g}",
        facts=facts, images_note=images_note,
        before=_quoted_lines([u.text for u in context.dialogue_before], labels["none"]),
        after=_quoted_lines([u.text for u in context.dialogue_after], labels["none"]),
        previous=_quoted_lines(context.previous[-MAX_PREVIOUS:], labels["none"]),
        max_units=size.max_units, count=count, targets=_targets_text(targets, size.unit), example=_example(count))
    user = re.sub(r"\n{3,}", "\n\n", user)
    captions = [Template(labels["keyframe"]).safe_substitute(i=i + 1, n=len(frames)) for i in range(len(frames))]
    if before is not None:
        captions.insert(0, labels["before"])
    echoes = [u.text for u in context.dialogue_before + context.dialogue_after] + context.previous
    # Saying what was seen for sure is no parroting: that line of the request is not an echo.
    request = [line for line in user.splitlines() if not line.startswith(f"- {labels['observed']}:")]
    return Prompt(system_prompt(language), user, marked, captions, _echo_keys(echoes + request))


def shorten_prompt(context: SlotContext, text: str, seconds: float, count: int = 3,
                   rate: SpeakingRate | None = None) -> Prompt:
    """The request for `count` shorter versions of `text` that fit `seconds` of speech (no images)."""
    language = context.language
    size = budget(seconds, language, rate)
    targets = sorted({min(t, size.max_units) for t in size.targets(count)})
    text = " ".join(text.split())
    user = Template(_sections(language)["shorten"]).safe_substitute(
        seconds=f"{size.seconds:g}", max_units=size.max_units, text=text,
        count=count, targets=_targets_text(targets, size.unit), example=_example(count))
    # Words cut from the original are a fair shortening, so only the instructions count as echoes.
    instructions = [line for line in user.splitlines() if text not in line]
    return Prompt(system_prompt(language), user, echoes=_echo_keys(instructions))


def _echo_key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", _clean(text)).strip().lower()


def _is_echo(key: str, echoes: set[str]) -> bool:
    # A whole line of the request, or four or more words cut from one (a model repeating its instructions).
    return key in echoes or (len(key.split()) >= 4 and any(key in echo for echo in echoes))


def _echo_keys(lines: list[str]) -> set[str]:
    keys = {_echo_key(line) for line in lines}
    keys.discard("")
    return keys


# --- reading the answer -------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)(```|$)", re.DOTALL)
_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"(\s*:)?')  # a closed JSON string, and whether it is a key
# Bullets and numbering a model puts before its lines: "- ", "1. ", "2) ", "3.1: ", "①", "Candidate 2:".
_NUMBERING = re.compile(r"^\s*(?:[-*•·–]\s+|\(?\d{1,2}(?:\.\d{1,2})*(?:[.)](?!\d)\s*|:\s+)|[①-⑳]\s*"
                        r"|(?:candidate|후보)\s*\d*\s*[:.)]\s*)", re.IGNORECASE)
_QUOTES = "\"'“”‘’「」『』`"
_KEYS = ("candidates", "descriptions", "description", "text", "sentences")


def parse_candidates(text: str) -> list[str]:
    """The candidate sentences in a model's answer.

    Accepts `{"candidates": [...]}` (also inside a ```json fence, after a preamble, or cut off
    by the token limit), a bare JSON list, and otherwise one sentence per line. Numbering,
    bullets and surrounding quotes are stripped; duplicates and empty lines dropped.
    """
    text = _THINK.sub("", text or "").strip()
    fenced = _FENCE.search(text)
    body = fenced.group(1).strip() if fenced else text
    items = _from_json(body)
    if items is None and fenced:
        items = _from_json(text)
    if items is None and re.search(r'"(?:%s)"\s*:' % "|".join(_KEYS), body):
        # JSON cut off by the token limit: keep the strings that were closed.
        start = re.search(r'"(?:%s)"\s*:' % "|".join(_KEYS), body).end()
        items = [json.loads(f'"{value}"') for value, key in _STRING.findall(body[start:]) if not key]
    if items is None:
        items = [line for line in body.splitlines() if not line.rstrip().endswith(":")]
    seen, result = set(), []
    for item in items:
        cleaned = _clean(item)
        if cleaned and cleaned not in seen and not re.fullmatch(r"[\[\]{}(),.…\s]*", cleaned):
            seen.add(cleaned)
            result.append(cleaned)
    return result


def _from_json(text: str) -> list[str] | None:
    for candidate in (text, _outermost(text, "{", "}"), _outermost(text, "[", "]")):
        if not candidate:
            continue
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        items = _strings(data)
        if items is not None:
            return items
    return None


def _outermost(text: str, open_: str, close: str) -> str | None:
    start, end = text.find(open_), text.rfind(close)
    return text[start:end + 1] if 0 <= start < end else None


def _strings(data) -> list[str] | None:
    if isinstance(data, str):
        return [data]
    if isinstance(data, list):
        out = []
        for item in data:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                value = next((item[k] for k in _KEYS if isinstance(item.get(k), str)), None)
                if value is not None:
                    out.append(value)
        return out
    if isinstance(data, dict):
        for key in _KEYS:
            if key in data:
                return _strings(data[key])
        lists = [v for v in data.values() if isinstance(v, list)]
        if lists:
            return _strings(lists[0])
        return [v for v in data.values() if isinstance(v, str)]
    return None


def _clean(item: str) -> str:
    text = " ".join(str(item).split())
    text = _NUMBERING.sub("", _NUMBERING.sub("", text)).strip()  # "- 3.1: ..." has two
    if text[:1] in _QUOTES and text:
        text = text[1:]
        closing = re.search(r"[%s][.,]?$" % re.escape(_QUOTES), text)
        if closing:
            text = text[:closing.start()]
    return text.strip().rstrip(",").strip()


def _in_language(label: str, term: Term | None, language: str) -> str:
    """A detector's class in the prompt's language where the vocabulary has it ("cup" -> "컵")."""
    return term.ko if language == "ko" and term is not None else label
