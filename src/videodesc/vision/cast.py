"""Naming characters from a cast file: a name and one or more reference photos per person.

TOML:
    [[character]]
    name = "민수"
    photos = ["cast/minsu.jpg", "cast/minsu-side.jpg"]

or JSON: {"characters": [{"name": "민수", "photos": ["cast/minsu.jpg"]}]}. Photo paths are
relative to the cast file. A character of the video takes the name of the cast member whose
photos are nearest its faces, when nearer than the same-person distance; each name is given
at most once, closest pairs first. Unmatched characters keep their "Person N" labels.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from videodesc.errors import InputError
from videodesc.records import Facts
from videodesc.vision.faces import FaceDetector


@dataclass
class CastMember:
    name: str
    embeddings: list[np.ndarray]


def _entries(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"cast file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read cast file {path} ({exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            entries = data.get("characters") if isinstance(data, dict) else data
        else:
            entries = tomllib.loads(text).get("character")
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cast file {path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}") from exc
    if not isinstance(entries, list) or not entries:
        raise InputError(f"cast file {path} lists no characters (expected [[character]] entries "
                         "with name and photos, or a JSON 'characters' list)")
    return entries


def load_cast(path: Path, detector: FaceDetector) -> list[CastMember]:
    """Read and check a cast file, embedding the face of each reference photo.

    Raises:
        InputError: the file is missing or malformed, an entry has no name or photos, a photo is
            missing or unreadable, or a photo shows no face.
    """
    path = Path(path)
    members = []
    for number, entry in enumerate(_entries(path), 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        photos = entry.get("photos") if isinstance(entry, dict) else None
        if isinstance(photos, str):
            photos = [photos]
        if not isinstance(name, str) or not name.strip() or not isinstance(photos, list) or not photos:
            raise InputError(f"cast file {path}, character {number}: needs a name and at least one photo")
        embeddings = []
        for photo in photos:
            photo_path = (path.parent / str(photo)).resolve()
            if not photo_path.is_file():
                raise InputError(f"cast file {path}: photo {photo} of {name} not found")
            image = cv2.imread(str(photo_path))
            if image is None:
                raise InputError(f"cast file {path}: photo {photo} of {name} is not a readable image")
            faces = detector.detect(image)
            if not faces:
                raise InputError(f"cast file {path}: photo {photo} of {name} shows no face")
            embeddings.append(faces[0].embedding)  # the biggest face is the person the photo is of
        members.append(CastMember(name.strip(), embeddings))
    return members


def name_characters(facts: Facts, centroids: dict[str, list[float]], cast: list[CastMember],
                    max_distance: float) -> None:
    """Give characters in `facts` the names of the cast members they match (in place)."""
    pairs = []
    for member_index, member in enumerate(cast):
        for character in facts.characters:
            centroid = np.asarray(centroids[character.id], dtype=np.float32)
            distance = min(float(np.linalg.norm(e - centroid)) for e in member.embeddings)
            if distance < max_distance:
                pairs.append((distance, member_index, character.id))
    named_members: set[int] = set()
    by_id = {c.id: c for c in facts.characters}
    for character in facts.characters:
        character.name = None
    for _, member_index, character_id in sorted(pairs):
        character = by_id[character_id]
        if member_index in named_members or character.name is not None:
            continue
        character.name = cast[member_index].name
        named_members.add(member_index)
