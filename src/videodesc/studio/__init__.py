"""The review studio (`videodesc serve`): a web app to describe a video, review and edit its script,
and render it again.

- `projects`: the projects under the data folder, each in its own folder, and the only way a
  path from a request reaches the file system (`inside`).
- `jobs`: the queue that runs `videodesc describe`, `write --slots` and `render` as child
  processes, one at a time, with their progress as events; it outlives a server restart.
- `editing`: changes to a project's script.json (text, alternative, start, delete, add, undo),
  each saved atomically with the previous version kept, and the warnings of a cue.
- `app`: the HTTP API and pages (FastAPI), the access token, and what the browser may do.
"""
