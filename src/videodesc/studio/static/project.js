// videodesc studio: one project — its job, the preview, and the editor of its descriptions.
"use strict";

const projectId = window.location.pathname.split("/").filter(Boolean).pop();
const base = `/api/projects/${projectId}`;
const { el, api, time } = Studio;
let state = null; // the editor's data from the server: script, revision, warnings, time line
let project = null;
let events = null; // the EventSource of the job being followed
const typing = new Map(); // cue index -> timer of its pending save
const checks = new Map(); // cue index -> number of the latest warnings check asked for

function say(id, text) { document.getElementById(id).textContent = text; }

// --- the job ----------------------------------------------------------------------------------

function showJob(job) {
  say("job-status", Studio.jobText(job));
  const bar = document.getElementById("job-progress");
  const running = job && (job.status === "running" || job.status === "queued");
  bar.hidden = !(running && job.progress !== null && job.progress !== undefined);
  if (!bar.hidden) bar.value = Math.round(job.progress * 100);
  document.getElementById("cancel-job").hidden = !running;
  document.getElementById("describe-again").hidden = running || !job || job.kind !== "describe" || job.status === "done";
  for (const id of ["render", "undo"]) document.getElementById(id).disabled = Boolean(running);
}

function follow(job) {
  if (events) events.close();
  showJob(job);
  if (!job || job.status === "done" || job.status === "failed" || job.status === "cancelled") return;
  const log = document.getElementById("job-log");
  events = new EventSource(`/api/jobs/${job.id}/events`);
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.event === "start") { job.stage = event.stage; job.progress = event.total ? 0 : null; }
    if (event.event === "progress" && event.total) job.progress = Math.min(1, event.done / event.total);
    if (event.event === "status") { job.status = event.status; job.error = event.message || null; }
    if (event.event === "warning" || event.event === "info" || event.event === "text" || event.event === "done") {
      log.append(el("li", { text: event.message || `${event.stage}: done in ${event.seconds} s` }));
    }
    showJob(job);
  };
  events.addEventListener("end", async () => {
    events.close();
    events = null;
    await load();
  });
}

async function startJob(kind, extra) {
  try {
    const job = await api("POST", `${base}/jobs`, { kind, ...(extra || {}) });
    follow(job);
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

// --- the preview ------------------------------------------------------------------------------

function showPreview() {
  const outputs = project.outputs;
  document.getElementById("preview").hidden = false;
  const player = document.getElementById("player");
  const described = document.getElementById("described-sound");
  const mp4 = outputs.find((o) => o.name.endsWith(".ad.mp4"));
  const mix = outputs.find((o) => o.name.endsWith(".ad-mix.m4a"));
  const stamp = state ? state.revision : Date.now();
  const videoUrl = mp4 ? `${mp4.url}?v=${stamp}` : `${base}/video`;
  if (player.dataset.src !== videoUrl) {
    player.dataset.src = videoUrl;
    player.src = videoUrl;
    player.replaceChildren();
    if (state && state.script.cues.length) {
      player.append(el("track", { kind: "captions", label: "Descriptions", srclang: state.script.language,
        src: `${base}/files/descriptions.vtt?v=${stamp}`, default: true }));
    }
  }
  const choice = document.getElementById("sound-described");
  choice.disabled = !mix;
  document.getElementById("described-note").hidden = Boolean(mix);
  if (mix) described.src = `${mix.url}?v=${stamp}`;
  const list = document.getElementById("outputs");
  document.getElementById("no-outputs").hidden = outputs.length > 0;
  list.replaceChildren(...outputs.map((o) => el("li", {}, el("a", { href: o.url, text: o.label }), ` (${o.name})`)));
}

// The described sound plays beside the muted video, kept to its time.
function describedOn() { return document.querySelector("input[name=sound]:checked").value === "described"; }

function syncSound() {
  const player = document.getElementById("player");
  const described = document.getElementById("described-sound");
  player.muted = describedOn();
  if (!describedOn()) { described.pause(); return; }
  if (Math.abs(described.currentTime - player.currentTime) > 0.25) described.currentTime = player.currentTime;
  if (player.paused) described.pause(); else described.play().catch(() => {});
}

// --- the editor -------------------------------------------------------------------------------

function dialogueAround(cue) {
  const lines = state.dialogue;
  const before = lines.filter((u) => u.end <= cue.start + 0.05).slice(-1)[0];
  const after = lines.filter((u) => u.start >= cue.end - 0.05)[0];
  return [before ? `Before: “${before.text}”` : "Before: no dialogue", after ? `After: “${after.text}”` : "After: no dialogue"];
}

function showWarnings(index, warnings) {
  const box = document.getElementById(`warn-${index}`);
  if (!box) return;
  box.replaceChildren(...(warnings.length
    ? warnings.map((w) => el("p", { class: "warning" }, el("strong", { text: "Warning: " }), w))
    : [el("p", { class: "ok", text: "No warnings." })]));
}

function cueItem(cue, index) {
  const slot = state.slots[cue.slot];
  const shots = state.shots.filter((s) => cue.shots.includes(s.index));
  const frames = shots.flatMap((s) => s.keyframes).filter((k) => !slot || (k.time >= slot.start - 1 && k.time <= slot.end + 1));
  const heading = `Description ${index + 1}, at ${time(cue.start)}` + (slot ? ` (gap ${cue.slot}, ${time(slot.start)} to ${time(slot.end)})` : "");
  const text = el("textarea", { id: `text-${index}`, rows: 2, "aria-describedby": `warn-${index}`, lang: cue.lang });
  text.value = cue.text;
  text.addEventListener("input", () => typed(index));
  text.addEventListener("blur", () => saveText(index));
  const alternatives = cue.candidates.length > 1 ? el("fieldset", { class: "alternatives" },
    el("legend", { text: "Alternatives" }),
    cue.candidates.map((c, n) => el("label", {},
      el("input", { type: "radio", name: `alt-${index}`, value: n, checked: n === cue.chosen && c.text === cue.text,
                    onchange: () => change(index, { chosen: n }, `text-${index}`) }),
      ` ${c.text}`, c.problems.length ? el("span", { class: "meta", text: ` (breaks: ${c.problems.join("; ")})` }) : null))) : null;
  return el("li", { class: "cue", id: `cue-${index}` },
    el("h4", { id: `cue-${index}-heading`, tabindex: -1, text: heading }),
    el("div", { class: "frames" }, frames.slice(0, 3).map((k) =>
      el("img", { src: k.url, alt: `Keyframe at ${time(k.time)}`, width: 160, loading: "lazy" }))),
    el("p", { class: "dialogue" }, dialogueAround(cue).join(" · ")),
    el("label", { for: `text-${index}`, text: "Text" }), text,
    el("div", { id: `warn-${index}`, class: "warnings", "aria-live": "polite" }),
    alternatives,
    // Each button's name is what it shows; which description it acts on comes from the heading
    // it is described by, so that spoken and visible names agree (WCAG 2.5.3).
    el("div", { class: "actions" },
      el("span", { text: `Start ${time(cue.start)}` }),
      el("button", { type: "button", "aria-describedby": `cue-${index}-heading`, text: "0.1 s earlier",
                     onclick: () => change(index, { start: Math.max(0, cue.start - 0.1) }, `cue-${index}-heading`) }),
      el("button", { type: "button", "aria-describedby": `cue-${index}-heading`, text: "0.1 s later",
                     onclick: () => change(index, { start: cue.start + 0.1 }, `cue-${index}-heading`) }),
      el("button", { type: "button", "aria-describedby": `cue-${index}-heading`, text: "Play", onclick: () => play(index) }),
      el("button", { type: "button", "aria-describedby": `cue-${index}-heading`, text: "Write again",
                     onclick: () => startJob("write", { slot: cue.slot }) }),
      el("button", { type: "button", "aria-describedby": `cue-${index}-heading`, text: "Delete",
                     onclick: () => remove(index) })));
}

function gapItem(slot) {
  const id = `new-${slot.index}`;
  const text = el("textarea", { id, rows: 2, lang: state.script.language, "aria-describedby": `warn-new-${slot.index}` });
  return el("li", { class: "gap" },
    el("h4", { id: `gap-${slot.index}-heading`, text: `Gap ${slot.index}, ${time(slot.start)} to ${time(slot.end)} (${(slot.end - slot.start).toFixed(1)} s)` }),
    el("label", { for: id, text: "New description" }), text,
    el("div", { id: `warn-new-${slot.index}`, class: "warnings", "aria-live": "polite" }),
    el("button", { type: "button", text: "Add", "aria-describedby": `gap-${slot.index}-heading`,
                   onclick: () => add(slot.index, text.value) }));
}

function showTimeline() {
  const box = document.getElementById("timeline");
  const d = state.duration || 1;
  const span = (cls, start, end, label) => {
    // Placed through the style object: the page's content security policy refuses style attributes.
    const node = el("span", { class: cls, title: label });
    node.style.left = `${(100 * start) / d}%`;
    node.style.width = `${Math.max(0.2, (100 * (end - start)) / d)}%`;
    return node;
  };
  const row = (name, items) => el("div", { class: "row" }, el("span", { class: "row-name", text: name }),
    el("div", { class: "lane" }, items));
  box.replaceChildren(
    row("Shots", state.shots.map((s) => span("shot", s.start, s.end, `shot ${s.index}`))),
    row("Speech", state.speech.map(([s, e]) => span("speech", s, e, "speech"))),
    row("Gaps", state.slots.map((s) => span("slot", s.start, s.end, `gap ${s.index}`))),
    row("Descriptions", state.script.cues.map((c) => span("cue", c.start, c.end, c.text))));
  say("timeline-summary", `${time(state.duration)} long: ${state.shots.length} shots, ${state.dialogue.length} ${state.dialogue.length === 1 ? "line" : "lines"} of ` +
      `dialogue, ${state.slots.length} gaps, ${state.script.cues.length} descriptions.`);
}

function showEditor(focusId) {
  document.getElementById("script").hidden = false;
  const cues = state.script.cues;
  document.getElementById("cues").replaceChildren(...cues.map(cueItem));
  cues.forEach((c, n) => showWarnings(n, state.warnings[n]));
  const described = new Set(cues.map((c) => c.slot));
  const silent = state.slots.filter((s) => !described.has(s.index));
  document.getElementById("no-gaps").hidden = silent.length > 0;
  document.getElementById("gaps").replaceChildren(...silent.map(gapItem));
  showTimeline();
  if (focusId && document.getElementById(focusId)) document.getElementById(focusId).focus();
}

function busy() {
  return Boolean(project && project.busy);
}

async function change(index, body, focusId) {
  try {
    state = await api("POST", `${base}/cues/${index}`, { revision: state.revision, ...body });
    say("save-status", "Saved.");
    // A new start can move the cue in the order: follow it.
    const moved = body.start !== undefined ? state.script.cues.findIndex((c) => Math.abs(c.start - body.start) < 0.002) : index;
    showEditor(focusId && moved >= 0 ? focusId.replace(`-${index}`, `-${moved}`) : focusId);
    showPreview();
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

function typed(index) {
  clearTimeout(typing.get(index));
  typing.set(index, setTimeout(() => saveText(index), 900));
  const text = document.getElementById(`text-${index}`).value;
  const cue = state.script.cues[index];
  // Answers can come back out of order: only the one for the latest text is shown.
  const asked = (checks.get(index) || 0) + 1;
  checks.set(index, asked);
  api("POST", `${base}/check`, { index, text, start: cue.start, slot: cue.slot })
    .then((answer) => { if (checks.get(index) === asked) showWarnings(index, answer.warnings); }).catch(() => {});
}

async function saveText(index) {
  clearTimeout(typing.get(index));
  typing.delete(index);
  const area = document.getElementById(`text-${index}`);
  if (!area || !state || area.value.trim() === state.script.cues[index].text || !area.value.trim()) return;
  try {
    state = await api("POST", `${base}/cues/${index}`, { revision: state.revision, text: area.value });
    say("save-status", `Saved description ${index + 1}.`);
    // The text box keeps its place and focus; only what follows from the text changes.
    showWarnings(index, state.warnings[index]);
    showTimeline();
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

async function remove(index) {
  try {
    state = await api("DELETE", `${base}/cues/${index}?revision=${encodeURIComponent(state.revision)}`);
    say("save-status", `Deleted description ${index + 1}; its gap is silent.`);
    showEditor("script-heading");
    showPreview();
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

async function add(slot, text) {
  try {
    state = await api("POST", `${base}/cues`, { revision: state.revision, slot, text });
    const index = state.script.cues.findIndex((c) => c.slot === slot);
    say("save-status", `Added description ${index + 1}.`);
    showEditor(`text-${index}`);
    showPreview();
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

async function undo() {
  try {
    state = await api("POST", `${base}/undo`, { revision: state.revision });
    say("save-status", "Undone.");
    showEditor("script-heading");
    showPreview();
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

async function play(index) {
  const text = document.getElementById(`text-${index}`).value;
  try {
    say("save-status", `Speaking description ${index + 1}…`);
    const answer = await api("POST", `${base}/speak`, { text });
    const audio = new Audio(answer.url);
    await audio.play();
    say("save-status", `Playing description ${index + 1}.`);
  } catch (error) {
    say("save-status", `Error: ${error.message}`);
  }
}

// Next or previous description: its text box, and the video at its start.
function step(direction) {
  if (!state || !state.script.cues.length) return;
  const current = document.activeElement && document.activeElement.closest(".cue");
  const at = current ? Number(current.id.slice(4)) : -1;
  const next = Math.min(state.script.cues.length - 1, Math.max(0, at + direction));
  const player = document.getElementById("player");
  player.currentTime = state.script.cues[next].start;
  document.getElementById(`text-${next}`).focus();
  say("save-status", `Description ${next + 1} of ${state.script.cues.length}, at ${time(state.script.cues[next].start)}.`);
}

function shortcuts(event) {
  if (!event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey) return;
  const player = document.getElementById("player");
  if (event.code === "KeyP") { if (player.paused) player.play().catch(() => {}); else player.pause(); }
  else if (event.code === "KeyN") step(1);
  else if (event.code === "KeyB") step(-1);
  else return;
  event.preventDefault();
}

// --- loading ----------------------------------------------------------------------------------

async function load() {
  try {
    project = await api("GET", base);
  } catch (error) {
    say("job-status", `Error: ${error.message}`);
    return;
  }
  document.getElementById("project-name").textContent = project.name;
  document.title = `${project.name} – videodesc studio`;
  const job = project.jobs[project.jobs.length - 1];
  follow(job);
  if (project.has_script && !busy()) {
    try { state = await api("GET", `${base}/editor`); } catch (error) { say("save-status", `Error: ${error.message}`); }
    if (state) showEditor();
  }
  showPreview();
}

document.getElementById("cancel-job").addEventListener("click", async () => {
  const job = project.jobs[project.jobs.length - 1];
  try { follow(await api("POST", `/api/jobs/${job.id}/cancel`)); await load(); } catch (error) { say("job-status", `Error: ${error.message}`); }
});
document.getElementById("describe-again").addEventListener("click", () => startJob("describe"));
document.getElementById("render").addEventListener("click", async () => {
  for (const index of [...typing.keys()]) await saveText(index);
  startJob("render");
});
document.getElementById("undo").addEventListener("click", undo);
document.getElementById("delete-project").addEventListener("click", async () => {
  if (!window.confirm(`Delete the project “${project.name}” with its video and every file made from it?`)) return;
  try {
    await api("DELETE", base);
    window.location.href = "/";
  } catch (error) {
    say("project-status", `Error: ${error.message}`);
  }
});
document.addEventListener("keydown", shortcuts);
for (const input of document.querySelectorAll("input[name=sound]")) input.addEventListener("change", syncSound);
for (const kind of ["play", "pause", "seeked", "timeupdate"]) document.getElementById("player").addEventListener(kind, syncSound);
load();
