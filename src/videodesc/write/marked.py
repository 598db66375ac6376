"""Keyframes for a model writer with each known face outlined and labelled with the person's name.

Training-free audio description work that marks the characters on the frame names people best: a
model that sees "Person 2" over a face says "Person 2" instead of "a man". The marked copies are
made once per keyframe and set of labels, in `OUT/work/writer/marked/`, and written atomically;
the keyframes themselves are never changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from videodesc.vision.reliable import ConfidenceFloors, reliable_facts
from videodesc.workfolder import atomic_path
from videodesc.write.context import ShotView, SlotContext

FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")  # Debian's fonts-nanum: Hangul and Latin
COLOUR = (255, 214, 0)  # a yellow that stands out on skin, sky and dark rooms alike
MARKED = Path("work") / "writer" / "marked"


def marked_keyframes(context: SlotContext, frames: list[Path], floors: ConfidenceFloors | None = None,
                     shot: ShotView | None = None) -> list[Path]:
    """`frames` (keyframes of `shot`, by default the main shot, as absolute paths) with the known
    faces on each marked; a frame with no known face is given as it is."""
    shot = shot or context.main_shot
    if shot is None or shot.facts is None:
        return frames
    facts = reliable_facts(shot.facts, floors, context.characters)
    marked = []
    for frame in frames:
        relative = frame.relative_to(context.folder).as_posix() if frame.is_relative_to(context.folder) else ""
        faces = [(face.box, context.character_name(face.character)) for face in facts.faces
                 if face.keyframe == relative and face.character]
        marked.append(_marked(frame, faces, context.folder / MARKED) if faces else frame)
    return marked


def _marked(frame: Path, faces: list[tuple[list[int], str]], folder: Path) -> Path:
    key = hashlib.sha256(repr((frame.name, frame.stat().st_mtime_ns, faces)).encode()).hexdigest()[:12]
    target = folder / f"{frame.stem}-{key}.jpg"
    if target.is_file():
        return target
    image = Image.open(frame).convert("RGB")
    draw = ImageDraw.Draw(image)
    size = max(14, image.height // 30)
    font = ImageFont.truetype(str(FONT), size) if FONT.is_file() else ImageFont.load_default(size)
    width = max(2, image.height // 240)
    for (x, y, w, h), name in faces:
        draw.rectangle([x, y, x + w, y + h], outline=COLOUR, width=width)
        left, top, right, bottom = draw.textbbox((0, 0), name, font=font)
        label_y = y - (bottom - top) - 3 * width if y - (bottom - top) - 3 * width >= 0 else y + h + width
        draw.rectangle([x, label_y, x + right - left + 2 * width, label_y + bottom - top + 2 * width], fill=COLOUR)
        draw.text((x + width - left, label_y + width - top), name, fill=(0, 0, 0), font=font)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        image.save(tmp, "JPEG", quality=90)
    return target
