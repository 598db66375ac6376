"""The studio's job queue, against a real `videodesc serve` describing real clips: jobs run one at
a time, survive the server being killed, fail with one line without stopping the queue, and can
be cancelled.

A job's processes are found by its project id, which every one of them (videodesc and the
ffmpeg it starts) has on its command line: the paths of the project's video and output folder.
"""

from __future__ import annotations

import threading
import time

import pytest

from processes import processes
from studio import Studio

RESUMED = "resumed after the server restarted"


def processes_of(project: str) -> list[tuple[int, str]]:
    """The live processes whose command line names the project (zombies have none)."""
    return [(p.pid, p.command) for p in processes() if project in p.command]


def gone(project: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while processes_of(project):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_for(studio: Studio, job_id: str, ready, timeout: float = 120) -> dict:
    """The job once `ready(job)` holds; fails if it finished first or it takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = studio.get(f"/api/jobs/{job_id}").json()
        if ready(job):
            return job
        assert job["status"] not in ("done", "failed", "cancelled"), job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {job}")


def past_shots(job: dict) -> bool:
    return job["status"] == "running" and job["stage"] not in (None, "probe", "shots")


@pytest.fixture(scope="module")
def two(studio, studio_clip):
    """Two uploads sent at the same moment, both described."""
    answers: list = [None, None]

    def send(n: int) -> None:
        answers[n] = studio.upload(studio_clip, name=f"P{n + 1}")

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    projects = [a.json() for a in answers]
    jobs = [studio.wait(p["job"]["id"], timeout=240) for p in projects]
    return projects, jobs


def test_two_uploads_at_once_are_described_one_after_the_other(studio, two):
    projects, jobs = two
    assert projects[0]["id"] != projects[1]["id"]
    assert [j["status"] for j in jobs] == ["done", "done"], jobs
    first, second = sorted(jobs, key=lambda j: j["started"])
    assert second["started"] >= first["finished"], (first, second)
    for project in projects:
        summary = studio.get(f"/api/projects/{project['id']}").json()
        names = {o["name"] for o in summary["outputs"]}
        assert {"script.json", "studio_clip.ad.mp4", "descriptions.vtt"} <= names, names
        assert summary["has_script"] and not summary["busy"]


def test_a_failing_job_says_why_in_one_line_and_the_queue_goes_on(studio, two, studio_clip, tmp_path):
    (p1, p2), _ = two
    projects = studio.data / "projects"
    before = {p.name for p in projects.iterdir()}
    # A clip cut short is refused at the upload, which names the problem, and leaves nothing.
    truncated = tmp_path / "cut.mp4"
    content = studio_clip.read_bytes()
    truncated.write_bytes(content[: int(len(content) * 0.6)])
    response = studio.upload(truncated)
    assert response.status_code == 400, response.text
    assert "truncated" in response.json()["error"] and "\n" not in response.json()["error"]
    assert {p.name for p in projects.iterdir()} == before

    # So the failing job is one whose video is gone by the time it runs: queued behind P1's.
    blocker = studio.post(f"/api/projects/{p1['id']}/jobs", json={"kind": "describe"})
    assert blocker.status_code == 201, blocker.text
    wait_for(studio, blocker.json()["id"], lambda j: j["status"] == "running")
    response = studio.upload(studio_clip, name="doomed")
    assert response.status_code == 201, response.text
    doomed = response.json()
    (projects / doomed["id"] / "source" / "studio_clip.mp4").unlink()
    assert studio.get(f"/api/jobs/{doomed['job']['id']}").json()["status"] == "queued"

    failed = studio.wait(doomed["job"]["id"], timeout=180)
    assert failed["status"] == "failed", failed
    error = failed["error"]
    # It names the project's own file, not where the server keeps projects.
    assert "no such file" in error and "source/studio_clip.mp4" in error and str(studio.data) not in error, error
    assert "\n" not in error and "Traceback" not in error and not error.startswith(("videodesc:", "error:")), error
    assert studio.get(f"/api/jobs/{blocker.json()['id']}").json()["status"] == "done"
    # Another project's job, queued after the failure, still runs to the end.
    render = studio.post(f"/api/projects/{p2['id']}/jobs", json={"kind": "render"})
    assert render.status_code == 201, render.text
    job = studio.wait(render.json()["id"], timeout=120)
    assert job["status"] == "done", job


def test_cancelling_a_running_describe_stops_it(studio, studio_clip):
    response = studio.upload(studio_clip, name="cancelled")
    assert response.status_code == 201, response.text
    project = response.json()
    job = wait_for(studio, project["job"]["id"], past_shots)
    assert processes_of(project["id"]), "the job's process is not to be seen"
    asked = time.monotonic()
    studio.post(f"/api/jobs/{job['id']}/cancel")
    job = studio.wait(job["id"], timeout=15)
    assert job["status"] == "cancelled" and job["error"] is None, job
    assert time.monotonic() - asked < 10
    assert gone(project["id"], 2), processes_of(project["id"])
    # The project is free again: a new job starts and runs.
    response = studio.post(f"/api/projects/{project['id']}/jobs", json={"kind": "describe"})
    assert response.status_code == 201, response.text
    again = wait_for(studio, response.json()["id"], lambda j: j["status"] == "running" and j["stage"])
    assert processes_of(project["id"])
    studio.post(f"/api/jobs/{again['id']}/cancel")
    assert studio.wait(again["id"], timeout=15)["status"] == "cancelled"
    assert gone(project["id"], 2)
    assert [j["status"] for j in studio.get(f"/api/projects/{project['id']}").json()["jobs"]] == \
        ["cancelled", "cancelled"]


def test_a_job_cancelled_as_its_process_starts_stays_cancelled(studio, studio_clip):
    """Cancel sent the moment the upload answers, when the worker is starting the job's process.

    A race: one try in four or so lands inside the few milliseconds between the job being marked
    running and its process being known, which is why there are many tries. Cancelled there, the
    job used to be reported cancelled while its process ran on and ended it as done.
    """
    jobs = []
    for _ in range(12):
        response = studio.upload(studio_clip, name="raced")
        assert response.status_code == 201, response.text
        project = response.json()
        studio.post(f"/api/jobs/{project['job']['id']}/cancel")
        job = studio.wait(project["job"]["id"], timeout=15)
        assert job["status"] == "cancelled", job
        assert gone(project["id"], 1), processes_of(project["id"])
        assert not studio.get(f"/api/projects/{project['id']}").json()["busy"]
        jobs.append(project)
    time.sleep(1)
    for project in jobs:
        assert studio.get(f"/api/jobs/{project['job']['id']}").json()["status"] == "cancelled"
        assert not (studio.data / "projects" / project["id"] / "out" / "script.json").exists()
        assert studio.delete(f"/api/projects/{project['id']}").status_code == 200


def test_a_job_cut_off_by_a_killed_server_resumes_at_the_next_start(studio_clip, tmp_path):
    data = tmp_path / "data"
    server = Studio(data)
    try:
        response = server.upload(studio_clip, name="resumed")
        assert response.status_code == 201, response.text
        project = response.json()
        # Killed in a stage that prints nothing for seconds, so that the child does not merely
        # die of its next progress line finding no reader.
        job = wait_for(server, project["job"]["id"], lambda j: past_shots(j) and j["stage"] == "scorers")
        assert processes_of(project["id"]), "the job's process is not to be seen"
        server.stop(kill=True)
        # The job's process ends with the server (PR_SET_PDEATHSIG), not beside the one resumed.
        assert gone(project["id"], 1.5), processes_of(project["id"])
        out = data / "projects" / project["id"] / "out"
        assert not (out / "studio_clip.ad.mp4").exists()  # it was cut off before the end

        server.start()
        found = server.get(f"/api/jobs/{job['id']}").json()
        assert found["status"] in ("queued", "running") and found["note"] == RESUMED, found
        finished = server.wait(job["id"], timeout=240)
        assert finished["status"] == "done" and finished["note"] == RESUMED, finished
        assert (out / "script.json").is_file() and (out / "studio_clip.ad.mp4").stat().st_size > 0
        summary = server.get(f"/api/projects/{project['id']}").json()
        assert [j["id"] for j in summary["jobs"]] == [job["id"]]  # the same job, not a second one
        assert {"script.json", "studio_clip.ad.mp4"} <= {o["name"] for o in summary["outputs"]}
    finally:
        server.stop()


def test_a_job_being_cancelled_when_the_server_died_stays_cancelled(tmp_path):
    import json

    from videodesc.studio.jobs import Job, JobQueue

    folder = tmp_path / "projects" / "0123456789abcdef" / "jobs"
    folder.mkdir(parents=True)
    for job_id, note in (("a" * 16, "cancelling"), ("b" * 16, None)):
        job = Job(job_id, "0123456789abcdef", "render", ["render", str(tmp_path / "nowhere")], time.time(),
                  status="running", note=note)
        (folder / f"{job_id}.json").write_text(json.dumps(vars(job)))
    queue = JobQueue(tmp_path / "projects")
    try:
        assert queue.get("a" * 16).status == "cancelled"
        resumed = queue.get("b" * 16)
        assert resumed.note == RESUMED
        deadline = time.monotonic() + 60
        while resumed.status not in ("done", "failed", "cancelled") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert resumed.status == "failed" and "holds no timeline.json" in resumed.error  # it did run again
        assert json.loads((folder / f"{'a' * 16}.json").read_text())["status"] == "cancelled"
    finally:
        queue.close()
