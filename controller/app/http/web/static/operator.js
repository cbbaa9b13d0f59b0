/* The operator console: login, a live grid of compartments, alarms with evidence, actions, timelines.
   Every word comes from the catalogues (static/i18n): states, alarm reasons, refusals (by the error body's
   code), event names and payload fields; times are shown in the browser's time zone. Sign-in and the shared
   helpers are console-common.js's. */
"use strict";
const consoleState = { stream: null, clearing: null, refreshTimer: null };

function showLogin() {
  for (const id of ["grid", "export", "live"]) $(id).hidden = true;
  if (consoleState.stream) consoleState.stream.close();
}

function showConsole() {
  for (const id of ["grid", "export"]) $(id).hidden = false;
  refresh();
  listen();
}

/* -------------------------------------------------------------- the grid */
async function refresh() {
  const response = await call("GET", "/compartments");
  if (!response.ok) return;
  const { compartments } = await response.json();
  $("grid").replaceChildren(...compartments.map(tile));
  for (const row of compartments.filter((k) => k.state === "alarm")) showEvidence(row.id);
}

function tile(k) {
  const el = element("article", undefined, { "data-compartment": k.id, "data-state": k.state, class: "tile" });
  el.append(element("h3", k.id), element("p", label("op.state", k.state), { class: "state" }));
  el.append(element("p", label("op.door", k.door), { class: "door-state" }));
  if (k.failed_attempts) el.append(element("p", I18N.t("op.failed_attempts", { count: k.failed_attempts })));
  const actions = element("div", undefined, { class: "actions" });
  if (k.state === "alarm") {
    el.append(element("p", label("op.alarm", k.alarm), { class: "alarm", "data-testid": "alarm-reason" }));
    el.append(element("p", "", { class: "evidence", "data-testid": "evidence" }));
    actions.append(button("op.clear", "clear-alarm", () => askToClear(k.id)));
    if (k.alarm === "out_of_service") {
      actions.append(button("op.in_service", "in-service", () => act(`/operator/compartments/${k.id}/in-service`, {})));
    }
  } else if (k.state === "free" || k.state === "occupied") {
    actions.append(button("op.out_of_service", "out-of-service",
      () => act(`/operator/compartments/${k.id}/out-of-service`, { note: "" })));
  }
  if (k.face_erased) el.append(element("p", I18N.t("op.face_erased"), { "data-testid": "face-erased" }));
  else if (k.occupied_by && k.state === "occupied") {
    // On the owner's request (made to the operator): the face goes, the item stays, the PIN still opens it.
    actions.append(button("op.erase_face", "erase-face", () => act(`/operator/compartments/${k.id}/erase-face`, {})));
  }
  actions.append(button("op.timeline", "show-timeline", () => showTimeline(k.id)));
  el.append(actions);
  return el;
}

async function showEvidence(id) {
  const response = await call("GET", `/operator/compartments/${id}/timeline`);
  if (!response.ok) return;
  const { events } = await response.json();
  const alarm = events.filter((e) => e.type === "AlarmRaised").pop();
  const target = document.querySelector(`[data-compartment="${id}"] .evidence`);
  if (alarm && target) {
    target.textContent = `${I18N.t("op.evidence")}: ${localTime(alarm.occurred_at)} ${describe(alarm, ["reason"])}`;
  }
}

/** POST an action (a refusal is shown and its text returned), then read the grid again. */
async function act(path, body) {
  const refused = await post(path, body);
  await refresh();
  return refused;
}

function askToClear(id, draft = { note: "", release: false }, refused = "") {
  consoleState.clearing = id;
  $("clear-title").textContent = I18N.t("op.clear_title", { id });
  $("clear-note").value = draft.note;
  $("clear-release").checked = draft.release;
  $("clear-error").textContent = refused;
  $("clear-dialog").showModal();
}

async function onClearClosed() {
  const id = consoleState.clearing;
  consoleState.clearing = null;
  if ($("clear-dialog").returnValue !== "confirm" || id == null) return;
  const draft = { note: $("clear-note").value, release: $("clear-release").checked };
  const refused = await act(`/operator/alarms/${id}/clear`, draft);
  // Refused (the door is still open, the board is silent...): the typed note comes back with the reason.
  if (refused) askToClear(id, draft, refused);
}

async function showTimeline(id) {
  const response = await call("GET", `/operator/compartments/${id}/timeline`);
  if (!response.ok) return;
  const { events } = await response.json();
  $("timeline-title").textContent = I18N.t("op.timeline_title", { id });
  $("timeline-zone").textContent = zoneNote();
  $("timeline").replaceChildren(...events.map((e) => timelineEntry(e, e.version)));
  $("timeline-dialog").showModal();
}

function listen() {
  if (consoleState.stream) consoleState.stream.close();
  // Only what happens from now on: the grid is read from /compartments when the stream opens, so a long log is
  // never replayed; a reconnect resumes after the last event seen (Last-Event-ID). Refreshes are coalesced.
  consoleState.stream = new EventSource("/events?replay=false");
  consoleState.stream.addEventListener("open", () => { $("live").hidden = false; refresh(); });
  consoleState.stream.addEventListener("error", () => { $("live").hidden = true; });
  const later = () => {
    clearTimeout(consoleState.refreshTimer);
    consoleState.refreshTimer = setTimeout(refresh, 250);
  };
  // Every event type the catalogue names (a test holds it to the bank's list) refreshes the grid.
  const kinds = Object.keys(I18N.messages).filter((key) => key.startsWith("op.event.")).map((key) => key.slice(9));
  for (const kind of kinds) consoleState.stream.addEventListener(kind, later);
  listenForHelp(consoleState.stream);
}

/* -------------------------------------------------------------- help from the kiosk */
function listenForHelp(stream) {
  stream.addEventListener("HelpRequested", () => { beep(); showHelp(); });
  stream.addEventListener("HelpAnswered", showHelp);
  stream.addEventListener("open", showHelp);
}

async function showHelp() {
  const response = await call("GET", "/operator/help");
  if (!response.ok) return;
  const { requests } = await response.json();
  $("help-requests").hidden = requests.length === 0;
  $("help-list").replaceChildren(...requests.map((r) => {
    const when = new Date(r.requested_at).toLocaleTimeString(I18N.lang);
    const item = element("li", I18N.t("op.help_request", { kiosk: r.kiosk, screen: r.screen, time: when }),
      { "data-help": r.help_id });
    if ($("who").dataset.role === "operator") {
      item.append(" ", button("op.help_answer", "help-answer", () => act(`/operator/help/${r.help_id}/answer`, {})));
    }
    return item;
  }));
}

function beep() {
  // A short tone made here (no sound file to fetch): two pulses at 880 Hz.
  try {
    const audio = new AudioContext();
    for (const start of [0, 0.3]) {
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.18);
    }
  } catch (error) {
    $("help-requests").dataset.silent = String(error);  // no audio device: the list still shows the call
  }
}

async function start() {
  $("clear-dialog").addEventListener("close", onClearClosed);
  await startSession({ signedIn: showConsole, signedOut: showLogin });
}

start();
