"""The studio's HTTP side: pages, the JSON API, progress as server-sent events, and who may use it.

Who may use it:
- Bound to loopback (the default), the studio answers only requests whose Host is the loopback
  address it listens on, so that a web page elsewhere cannot reach it through a DNS name that
  points at 127.0.0.1 (DNS rebinding).
- Bound beyond loopback, a token is required: on every request, as `Authorization: Bearer`, as
  the `videodesc_token` cookie the page gets when opened with `?token=`, or as that parameter.
- A request that changes anything must carry the `X-Videodesc` header. Browsers let a page of
  another site send that header only after asking (CORS), which the studio never allows, so no
  other site can upload, edit or start jobs from a user's browser (cross-site request forgery).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from videodesc.errors import InputError, ModelError, VideodescError
from videodesc.media.probe import probe
from videodesc.records import to_dict
from videodesc.speak import SpeechCache, VoiceSpec, make_voice, resolve_voice
from videodesc.studio.editing import Conflict, ScriptEditor
from videodesc.studio.jobs import JobQueue
from videodesc.studio.projects import NotFound, Project, ProjectStore, inside, safe_file_name
from videodesc.workfolder import atomic_path

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CHANGE_HEADER = "x-videodesc"
TOKEN_COOKIE = "videodesc_token"
# The outputs a project offers for download, by what they are; NAME is the video's file stem.
OUTPUTS = [("Described video (MP4)", "{name}.ad.mp4"), ("Described video (MKV)", "{name}.ad.mkv"),
           ("Described mix (M4A)", "{name}.ad-mix.m4a"), ("Descriptions only (WAV stem)", "{name}.ad-stem.wav"),
           ("Descriptions (WebVTT)", "descriptions.vtt"), ("Descriptions (SRT)", "descriptions.srt"),
           ("Script (W3C DAPT)", "{name}.ad.dapt.ttml"),
           ("Script (JSON)", "script.json"), ("QC report (printable)", "qc.html"), ("QC report (JSON)", "qc.json"),
           ("Review page", "review.html"), ("Analysis report", "report.html")]
# What of the output folder a page may read besides those: the keyframes and the spoken cues.
READABLE_FOLDERS = ("keyframes", "speech", "work/speech")
CHUNK = 1 << 20


@dataclass
class StudioSettings:
    data: Path
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    media_folder: Path | None = None
    max_upload_bytes: int = 4 << 30
    workers: int = 1
    # The writers a project may choose, with the options their write step gets: the offline
    # template writer always; a model writer when serve was told where its model is.
    writers: dict[str, list[str]] = field(default_factory=lambda: {"template": []})
    python: str | None = None  # the interpreter that runs the jobs (this one by default)


def loopback(host: str) -> bool:
    # An address, not a name that merely starts like one: `127.0.0.1.evil.example` is a DNS name
    # anyone can point at 127.0.0.1, which is what the Host check is there to refuse.
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(settings: StudioSettings) -> FastAPI:
    if not loopback(settings.host) and not settings.token:
        raise InputError(f"serving on {settings.host} needs a token: --token TOKEN or VIDEODESC_TOKEN")
    store = ProjectStore(settings.data, settings.media_folder)
    jobs = JobQueue(store.root, settings.workers, settings.python)
    static = resources.files("videodesc.studio") / "static"
    app = FastAPI(title="videodesc studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.on_shutdown.append(jobs.close)

    # --- who may use it ------------------------------------------------------------------------

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if loopback(settings.host):
            host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
            if not loopback(host):
                return JSONResponse({"error": "unknown host"}, status_code=421)
        token = settings.token
        if token:
            auth = request.headers.get("authorization", "")
            given = (auth[7:] if auth.lower().startswith("bearer ") else None) or request.cookies.get(TOKEN_COOKIE) \
                or request.query_params.get("token")
            if not given or not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "a valid token is needed (open the address serve printed)"},
                                    status_code=401)
        if request.method not in ("GET", "HEAD") and request.headers.get(CHANGE_HEADER) != "1":
            return JSONResponse({"error": f"changes need the {CHANGE_HEADER} header"}, status_code=403)
        response = await call_next(request)
        if token and request.query_params.get("token") and request.cookies.get(TOKEN_COOKIE) != token:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("referrer-policy", "no-referrer")
        response.headers.setdefault("content-security-policy",
                                    "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                    "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
        return response

    @app.exception_handler(VideodescError)
    async def refused(request: Request, exc: VideodescError):
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else \
            413 if isinstance(exc, TooLarge) else 503 if isinstance(exc, ModelError) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(OSError)
    async def failed(request: Request, exc: OSError):
        # A full disk or a folder taken away: the machine's state, said in one line.
        status = 507 if exc.errno == errno.ENOSPC else 500
        return JSONResponse({"error": exc.strerror or str(exc)}, status_code=status)

    # --- pages ---------------------------------------------------------------------------------

    def page(name: str) -> Response:
        return Response((static / name).read_text(encoding="utf-8"), media_type="text/html; charset=utf-8")

    @app.get("/")
    async def index():
        return page("index.html")

    @app.get("/projects/{project_id}")
    async def project_page(project_id: str):
        store.get(project_id)
        return page("project.html")

    @app.get("/static/{name}")
    async def static_file(name: str):
        if name not in ("studio.css", "studio.js", "project.js"):
            raise NotFound("no such file")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return Response((static / name).read_text(encoding="utf-8"), media_type=f"{kind}; charset=utf-8")

    # --- projects ------------------------------------------------------------------------------

    def summary(project: Project) -> dict:
        project_jobs = jobs.of_project(project.id)
        latest = project_jobs[-1].public() if project_jobs else None
        return {**project.as_json(), "job": latest, "busy": jobs.busy(project.id),
                "has_script": (project.out / "script.json").is_file(), "outputs": outputs(project)}

    def outputs(project: Project) -> list[dict]:
        stem = project.video.stem
        found = []
        for label, pattern in OUTPUTS:
            name = pattern.format(name=stem)
            if (project.out / name).is_file():
                found.append({"label": label, "name": name, "url": f"/api/projects/{project.id}/files/{name}"})
        return found

    def known_writer(writer: str) -> str:
        if writer not in settings.writers:
            raise InputError(f"writer must be one of {', '.join(settings.writers)}, not {writer!r}")
        return writer

    @app.get("/api/settings")
    async def studio_settings():
        return {"languages": ["auto", "ko", "en"], "voices": ["default", "espeak", "piper"],
                "writers": list(settings.writers),
                "media": store.media_files(), "max_upload_bytes": settings.max_upload_bytes}

    @app.get("/api/projects")
    async def list_projects():
        return [summary(p) for p in store.all()]

    @app.post("/api/projects/upload", status_code=201)
    async def upload(request: Request, filename: str, name: str = "", language: str = "auto", voice: str = "default",
                     writer: str = "template"):
        length = request.headers.get("content-length")
        too_big = TooLarge(f"the video is larger than the limit of {settings.max_upload_bytes / 2**20:.0f} MiB")
        if length and length.isdigit() and int(length) > settings.max_upload_bytes:
            raise too_big
        project_id, folder = store.new_folder()
        try:
            source = Path("source") / safe_file_name(filename)
            target = folder / source
            target.parent.mkdir()
            received = 0
            with atomic_path(target) as partial, open(partial, "wb") as part:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > settings.max_upload_bytes:
                        raise too_big
                    part.write(chunk)
            media = await asyncio.to_thread(probe, target)  # by its content, not its name
            project = store.create(project_id, folder, name or Path(filename).stem, str(source), language, voice,
                                   media.duration, known_writer(writer))
        except VideodescError as exc:
            store.remove_folder(folder)
            if isinstance(exc, (NotFound, TooLarge)):
                raise
            # probe's message names the file by its path here, which the user never gave.
            raise InputError(str(exc).replace(str(target), Path(filename).name or "the upload")) from None
        except BaseException:
            store.remove_folder(folder)
            raise
        start_describe(project)
        return summary(project)

    @app.post("/api/projects/from-folder", status_code=201)
    async def from_folder(request: Request):
        body = await json_body(request)
        video = store.media_file(str(body.get("media", "")))
        media = await asyncio.to_thread(probe, video)
        project_id, folder = store.new_folder()
        try:
            project = store.create(project_id, folder, str(body.get("name") or video.stem), str(video),
                                   str(body.get("language", "auto")), str(body.get("voice", "default")), media.duration,
                                   known_writer(str(body.get("writer", "template"))))
        except BaseException:
            store.remove_folder(folder)
            raise
        start_describe(project)
        return summary(project)

    @app.get("/api/projects/{project_id}")
    async def get_project(project_id: str):
        project = store.get(project_id)
        return {**summary(project), "jobs": [j.public() for j in jobs.of_project(project_id)]}

    @app.delete("/api/projects/{project_id}")
    async def delete_project(project_id: str):
        project = store.get(project_id)
        if jobs.busy(project.id):
            raise Conflict("a job is running on this project: cancel it first")
        jobs.forget_project(project.id)
        editors.pop(project.id, None)
        store.delete(project.id)
        return {"deleted": project.id}

    # --- jobs ----------------------------------------------------------------------------------

    def voice_args(project: Project) -> list[str]:
        return [] if project.voice == "default" else ["--voice", project.voice]

    def writer_args(project: Project) -> list[str]:
        if project.writer not in settings.writers:
            raise InputError(f"this studio has no {project.writer} writer (serve it with that writer's options)")
        return settings.writers[project.writer]

    def start_describe(project: Project):
        return jobs.submit(project.id, "describe", ["describe", str(project.video), "-o", str(project.out), "--json",
                                                     "--lang", project.language, *voice_args(project),
                                                     *writer_args(project)])

    @app.post("/api/projects/{project_id}/jobs", status_code=201)
    async def start_job(project_id: str, request: Request):
        project = store.get(project_id)
        body = await json_body(request)
        kind = body.get("kind")
        if jobs.busy(project.id):
            raise Conflict("a job is already queued or running on this project")
        if kind == "describe":
            job = start_describe(project)
        elif kind == "render":
            job = jobs.submit(project.id, "render", ["render", str(project.out), "--json", *voice_args(project)])
        elif kind == "write":
            slot = body.get("slot")
            if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
                raise InputError("write again needs the number of a gap (slot)")
            script = editor(project).script()
            job = jobs.submit(project.id, "write", ["write", str(project.out), "--json", "--slots", str(slot),
                                                    "--lang", script.language, *voice_args(project),
                                                    *writer_args(project)])
        else:
            raise InputError("kind must be describe, write or render")
        return job.public()

    @app.get("/api/jobs/{job_id}")
    async def get_job(job_id: str):
        return job_or_404(job_id).public()

    @app.post("/api/jobs/{job_id}/cancel")
    async def cancel_job(job_id: str):
        job_or_404(job_id)
        job = await asyncio.to_thread(jobs.cancel, job_id)
        return job.public()

    @app.get("/api/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request):
        job_or_404(job_id)
        last = request.headers.get("last-event-id", "")
        index = int(last) + 1 if last.isdigit() else 0

        async def stream():
            nonlocal index
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                events, finished = jobs.events_since(job_id, index)
                for event in events:
                    yield f"id: {index}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
                    index += 1
                if finished and not events:
                    yield "event: end\ndata: {}\n\n"
                    return
                await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    def job_or_404(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}")
        return job

    # --- the editor ----------------------------------------------------------------------------

    editors: dict[str, tuple[int, ScriptEditor]] = {}

    def editor(project: Project) -> ScriptEditor:
        """The project's editor, kept while its analysis stays the same: the warnings checked at
        each keystroke then do not read a film's timeline.json (and time the voice) again."""
        timeline = project.out / "timeline.json"
        stamp = timeline.stat().st_mtime_ns if timeline.is_file() else 0
        kept = editors.get(project.id)
        if kept is None or kept[0] != stamp:
            spec = None if project.voice == "default" else VoiceSpec(backend=project.voice, language="")
            kept = editors[project.id] = (stamp, ScriptEditor(project.out, project.folder / "history", spec))
        return kept[1]

    def editable(project_id: str) -> tuple[Project, ScriptEditor]:
        project = store.get(project_id)
        if jobs.busy(project.id):
            raise Conflict("a job is running on this project: wait for it to finish, or cancel it")
        return project, editor(project)

    def editor_state(project: Project, edit: ScriptEditor) -> dict:
        script = edit.script()
        timeline = edit.timeline
        base = f"/api/projects/{project.id}/files/"
        return {
            "revision": edit.revision,
            "project": summary(project),
            "script": to_dict(script),
            "warnings": [edit.warnings(script, n, c.text, c.start, c.slot) for n, c in enumerate(script.cues)],
            "duration": script.media.duration,
            "video": f"/api/projects/{project.id}/video",
            "shots": [{"index": s.index, "start": s.start, "end": s.end,
                       "keyframes": [{"time": k.time, "url": base + k.path} for k in s.keyframes]}
                      for s in timeline.shots],
            "speech": [[s.start, s.end] for s in timeline.speech_regions],
            "slots": [{"index": n, "start": s.start, "end": s.end, "shots": s.shots}
                      for n, s in enumerate(timeline.slots)],
            "dialogue": [{"start": u.start, "end": u.end, "text": u.text} for u in timeline.utterances],
        }

    @app.get("/api/projects/{project_id}/editor")
    async def get_editor(project_id: str):
        project = store.get(project_id)
        return editor_state(project, editor(project))

    @app.post("/api/projects/{project_id}/cues/{index}")
    async def edit_cue(project_id: str, index: int, request: Request):
        project, edit = editable(project_id)
        body = await json_body(request)
        edit.edit(str(body.get("revision", "")), index, text=_text(body, "text"), chosen=_int(body, "chosen"),
                  start=_number(body, "start"))
        return editor_state(project, edit)

    @app.delete("/api/projects/{project_id}/cues/{index}")
    async def delete_cue(project_id: str, index: int, revision: str = ""):
        project, edit = editable(project_id)
        edit.delete(revision, index)
        return editor_state(project, edit)

    @app.post("/api/projects/{project_id}/cues")
    async def add_cue(project_id: str, request: Request):
        project, edit = editable(project_id)
        body = await json_body(request)
        slot = _int(body, "slot")
        if slot is None:
            raise InputError("a new cue needs its gap (slot)")
        edit.add(str(body.get("revision", "")), slot, _text(body, "text") or "", start=_number(body, "start"))
        return editor_state(project, edit)

    @app.post("/api/projects/{project_id}/undo")
    async def undo(project_id: str, request: Request):
        project, edit = editable(project_id)
        body = await json_body(request)
        edit.undo(str(body.get("revision", "")))
        return editor_state(project, edit)

    @app.post("/api/projects/{project_id}/check")
    async def check(project_id: str, request: Request):
        project = store.get(project_id)
        edit = editor(project)
        body = await json_body(request)
        script = edit.script()
        start, slot = _number(body, "start"), _int(body, "slot")
        if start is None or slot is None:
            raise InputError("a check needs the cue's start and gap (slot)")
        return {"warnings": edit.warnings(script, _int(body, "index"), _text(body, "text") or "", start, slot)}

    @app.post("/api/projects/{project_id}/speak")
    async def speak(project_id: str, request: Request):
        """The text spoken by the project's voice, into the speech cache render reads."""
        project = store.get(project_id)
        body = await json_body(request)
        text = (_text(body, "text") or "").strip()
        if not text:
            raise InputError("nothing to say")
        script = editor(project).script()
        spec = resolve_voice(None if project.voice == "default" else VoiceSpec(project.voice, ""), script.language)

        def say() -> Path:
            voice = make_voice(spec)
            try:
                return SpeechCache(project.out / "work" / "speech").speak(voice, spec, text)[0]
            finally:
                getattr(voice, "close", lambda: None)()

        path = await asyncio.to_thread(say)
        return {"url": f"/api/projects/{project.id}/files/{path.relative_to(project.out)}"}

    # --- files ---------------------------------------------------------------------------------

    @app.get("/api/projects/{project_id}/files/{path:path}")
    async def project_file(project_id: str, path: str):
        project = store.get(project_id)
        top = {pattern.format(name=project.video.stem) for _, pattern in OUTPUTS}
        if path not in top and not any(path.startswith(folder + "/") for folder in READABLE_FOLDERS):
            raise NotFound("no such file")
        target = inside(project.out, path)
        if not target.is_file():
            raise NotFound("no such file")
        download = path in top and not path.endswith((".html", ".vtt"))
        return FileResponse(target, filename=target.name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.get("/api/projects/{project_id}/video")
    async def project_video(project_id: str):
        project = store.get(project_id)
        if not project.video.is_file():
            raise NotFound("the project's video is missing")
        return FileResponse(project.video)

    @app.get("/favicon.ico")
    async def favicon():
        return Response(status_code=204)

    return app


class TooLarge(InputError):
    """An upload over the size limit."""


async def json_body(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise InputError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


def _text(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{key} must be text")
    return value


def _int(body: dict, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{key} must be a whole number")
    return value


def _number(body: dict, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{key} must be a number of seconds")
    return float(value)
