"""Projects: one folder each under `DATA/projects/`, named by a generated id.

A project folder holds `project.json` (what the user chose), `source/` (the uploaded video),
`out/` (the output folder of `videodesc describe`), `history/` (earlier versions of the script,
for undo) and `jobs/` (the jobs run for it). A video picked from the configured media folder is
read where it lies and never copied or written.

Every path that comes from a request goes through `inside`, which refuses anything that would
leave the folder it is relative to: absolute paths, `..`, and links pointing out.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from videodesc.errors import InputError
from videodesc.media import MEDIA_SUFFIXES
from videodesc.workfolder import write_text_atomic

PROJECT_ID = re.compile(r"[0-9a-f]{16}")
LANGUAGES = ("auto", "ko", "en")
VOICES = ("default", "espeak", "piper")


class NotFound(InputError):
    """A project, job or file that does not exist (or may not be seen)."""


def inside(root: Path, relative: str) -> Path:
    """`root/relative`, or NotFound when `relative` would lead out of `root` (absolute, `..`, a
    link out) or names nothing."""
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise NotFound("no such file")
    parts = Path(relative).parts
    if any(part in ("..", "") for part in parts) or "\\" in relative:
        raise NotFound("no such file")
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.exists():
        raise NotFound("no such file")
    return target


def safe_file_name(name: str) -> str:
    """A file name for an upload: its last part, with only letters, digits and `._-` kept."""
    stem = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\-]+", "_", stem, flags=re.UNICODE).strip("._") or "video"
    suffix = Path(cleaned).suffix.lower()
    base = cleaned[: -len(suffix)] if suffix else cleaned
    return base[:80] + (suffix if suffix in MEDIA_SUFFIXES else ".mp4" if not suffix else suffix[:8])


@dataclass
class Project:
    id: str
    name: str
    created: float
    source: str  # the video: relative to the project folder (an upload) or absolute (in the media folder)
    language: str = "auto"  # of the dialogue; the descriptions follow it (ko or en)
    voice: str = "default"
    writer: str = "template"
    duration: float | None = None
    folder: Path = field(default=Path(), repr=False, compare=False)

    @property
    def out(self) -> Path:
        return self.folder / "out"

    @property
    def video(self) -> Path:
        source = Path(self.source)
        return source if source.is_absolute() else self.folder / source

    def as_json(self) -> dict:
        record = asdict(self)
        record.pop("folder")
        return record


class ProjectStore:
    """The projects under `data/projects/`."""

    def __init__(self, data: Path, media_folder: Path | None = None):
        self.root = Path(data) / "projects"
        self.root.mkdir(parents=True, exist_ok=True)
        self.media_folder = Path(media_folder).resolve() if media_folder else None

    def new_folder(self) -> tuple[str, Path]:
        """A fresh project id and its (empty) folder."""
        while True:
            project_id = secrets.token_hex(8)
            folder = self.root / project_id
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return project_id, folder

    def save(self, project: Project) -> None:
        write_text_atomic(project.folder / "project.json", json.dumps(project.as_json(), ensure_ascii=False, indent=1))

    def create(self, project_id: str, folder: Path, name: str, source: str, language: str, voice: str,
               duration: float | None, writer: str = "template") -> Project:
        if language not in LANGUAGES:
            raise InputError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        if voice not in VOICES:
            raise InputError(f"voice must be one of {', '.join(VOICES)}, not {voice!r}")
        project = Project(project_id, name.strip()[:120] or Path(source).name, time.time(), source, language, voice,
                          writer, duration=duration, folder=folder)
        self.save(project)
        return project

    def get(self, project_id: str) -> Project:
        if not PROJECT_ID.fullmatch(project_id or ""):
            raise NotFound(f"no project {project_id!r}")
        record_file = self.root / project_id / "project.json"
        if not record_file.is_file():
            raise NotFound(f"no project {project_id!r}")
        record = json.loads(record_file.read_text(encoding="utf-8"))
        return Project(**record, folder=self.root / project_id)

    def all(self) -> list[Project]:
        projects = []
        for folder in self.root.iterdir():
            if PROJECT_ID.fullmatch(folder.name) and (folder / "project.json").is_file():
                projects.append(self.get(folder.name))
        return sorted(projects, key=lambda p: -p.created)

    def delete(self, project_id: str) -> None:
        shutil.rmtree(self.get(project_id).folder)

    def remove_folder(self, folder: Path) -> None:
        """A project folder that never became a project (its upload was refused)."""
        if folder.parent == self.root and PROJECT_ID.fullmatch(folder.name):
            shutil.rmtree(folder, ignore_errors=True)

    def media_files(self) -> list[str]:
        """The videos in the media folder, relative to it."""
        if self.media_folder is None or not self.media_folder.is_dir():
            return []
        # A link to a video outside the folder is not offered: `media_file` refuses it.
        return sorted(str(p.relative_to(self.media_folder)) for p in self.media_folder.rglob("*")
                      if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES
                      and p.resolve().is_relative_to(self.media_folder))

    def media_file(self, relative: str) -> Path:
        if self.media_folder is None:
            raise NotFound("no media folder is configured (serve --media-folder DIR)")
        return inside(self.media_folder, relative)
