// videodesc studio: what every page shares, and the projects page.
"use strict";

const Studio = {
  // A JSON request to the API; changes carry the header the server requires of them.
  async api(method, url, body) {
    const options = { method, headers: {} };
    if (method !== "GET") options.headers["X-Videodesc"] = "1";
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      throw new Error((data && data.error) || `the studio answered ${response.status}`);
    }
    return data;
  },

  // Seconds as m:ss.s (or h:mm:ss.s).
  time(seconds) {
    const s = Math.max(0, seconds);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = (s % 60).toFixed(1).padStart(4, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  },

  // An element with attributes and children (text or elements).
  el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  // What a job is doing, in words.
  jobText(job) {
    if (!job) return "Not started";
    const kind = { describe: "Describing", write: "Writing again", render: "Rendering" }[job.kind] || job.kind;
    if (job.status === "queued") return `${kind}: waiting in the queue` + (job.note ? ` (${job.note})` : "");
    if (job.status === "running") {
      const stage = job.stage ? `, ${job.stage}` : "";
      const share = job.progress !== null && job.progress !== undefined ? ` ${Math.round(job.progress * 100)}%` : "";
      return `${kind}${stage}${share}`;
    }
    if (job.status === "done") return `${kind}: done`;
    if (job.status === "cancelled") return `${kind}: cancelled`;
    return `${kind} failed: ${job.error || "unknown error"}`;
  },
};

// --- the projects page -------------------------------------------------------------------------

async function showProjects() {
  const list = document.getElementById("projects");
  let projects;
  try {
    projects = await Studio.api("GET", "/api/projects");
  } catch (error) {
    document.getElementById("upload-status").textContent = `Error: ${error.message}`;
    return;
  }
  document.getElementById("no-projects").hidden = projects.length > 0;
  // Only when something changed: rebuilding the list under a screen reader's cursor loses its place.
  const key = JSON.stringify(projects.map((p) => [p.id, p.name, Studio.jobText(p.job)]));
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...projects.map((p) => Studio.el("li", {},
    Studio.el("a", { href: `/projects/${p.id}`, text: p.name }),
    Studio.el("span", { class: "meta", text: ` ${p.duration ? Studio.time(p.duration) : ""} · ${Studio.jobText(p.job)}` }))));
}

function upload(file, query) {
  // XMLHttpRequest rather than fetch: it reports how much of a large video has been sent.
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    const bar = document.getElementById("upload-progress");
    request.open("POST", `/api/projects/upload?${query}`);
    request.setRequestHeader("X-Videodesc", "1");
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) { bar.hidden = false; bar.value = Math.round((100 * event.loaded) / event.total); }
    });
    request.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(new Error((data && data.error) || `the studio answered ${request.status}`));
    });
    request.addEventListener("error", () => reject(new Error("the upload was interrupted")));
    request.send(file);
  });
}

async function startProject(event) {
  event.preventDefault();
  const status = document.getElementById("upload-status");
  const file = document.getElementById("video-file").files[0];
  const media = document.getElementById("media-file").value;
  const options = {
    name: document.getElementById("project-name").value,
    language: document.getElementById("language").value,
    voice: document.getElementById("voice").value,
    writer: document.getElementById("writer").value,
  };
  if (!file && !media) {
    status.textContent = "Error: choose a video file first.";
    document.getElementById("video-file").focus();
    return;
  }
  const button = document.getElementById("describe");
  button.disabled = true;
  try {
    let project;
    if (file) {
      status.textContent = `Uploading ${file.name}…`;
      project = await upload(file, new URLSearchParams({ filename: file.name, ...options }).toString());
    } else {
      status.textContent = `Starting ${media}…`;
      project = await Studio.api("POST", "/api/projects/from-folder", { media, ...options });
    }
    status.textContent = "Uploaded: opening the project.";
    window.location.href = `/projects/${project.id}`;
  } catch (error) {
    status.textContent = `Error: ${error.message}`;
    button.disabled = false;
    document.getElementById("upload-progress").hidden = true;
  }
}

async function startIndex() {
  document.getElementById("new-project").addEventListener("submit", startProject);
  try {
    const settings = await Studio.api("GET", "/api/settings");
    if (settings.media.length) {
      const select = document.getElementById("media-file");
      for (const name of settings.media) select.append(Studio.el("option", { value: name, text: name }));
      document.getElementById("media-choice").hidden = false;
    }
    const names = { openai: "A language model (the server's endpoint)", transformers: "A local vision-language model" };
    for (const writer of settings.writers.filter((w) => w !== "template")) {
      document.getElementById("writer").append(Studio.el("option", { value: writer, text: names[writer] || writer }));
      document.getElementById("writer-choice").hidden = false;
    }
  } catch (error) { /* the form still works without the media folder */ }
  await showProjects();
  setInterval(showProjects, 4000);
}

if (document.getElementById("new-project")) startIndex();
