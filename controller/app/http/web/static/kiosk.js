/* The kiosk: one instruction at a time in #message, driven by the deposit call and the /kiosk/feed stream. */
"use strict";
const $ = (id) => document.getElementById(id);
const IDLE_AFTER_MS = 8000;
const HOLD_MS = 4000;
const FRAME_INTERVAL_MS = 450;
const QUIET_REASONS = new Set(["no_face", "low_probability"]);
const VERDICTS = new Set(["not_recognised", "liveness_failed", "locked_out", "contact_operator"]);
const kiosk = {
  mode: "idle", verdict: null, door: null, openDoors: new Set(), idleTimer: null, holdUntil: 0,
  samples: {}, sampleIndex: 0, sending: false,
};

function say(key, vars = {}, hold = false) {
  $("message").textContent = I18N.t(key, vars);
  $("message").dataset.key = key;
  if (hold) kiosk.holdUntil = Date.now() + HOLD_MS;
}

function showDoor(door) {
  kiosk.door = door;
  $("door").hidden = door == null;
  $("door-number").textContent = door ?? "";
  renderDoorControls();
}

function showPin(pin) {
  // Shown once, until the kiosk goes idle again: the server keeps only its hash.
  $("pin").hidden = !pin;
  $("pin-code").textContent = pin || "";
}

function idle() {
  kiosk.mode = "idle";
  showDoor(null);
  showPin(null);
  $("enrol").hidden = true;
  $("deposit").disabled = false;
  say("kiosk.welcome");
}

function idleLater(ms = IDLE_AFTER_MS) {
  clearTimeout(kiosk.idleTimer);
  kiosk.idleTimer = setTimeout(idle, ms);
}

async function deposit() {
  clearTimeout(kiosk.idleTimer);
  kiosk.mode = "enrolling";
  $("deposit").disabled = true;
  showDoor(null);
  say("kiosk.look_at_camera");
  let response = null;
  try {
    response = await fetch("/deposit", { method: "POST" });
  } catch (error) {
    response = null;
  }
  $("enrol").hidden = true;
  if (response && response.status === 201) {
    const receipt = await response.json();
    kiosk.mode = "deposit-open";
    showDoor(receipt.compartment_id);
    showPin(receipt.pin);
    say("kiosk.deposit_open", { door: receipt.compartment_id });
    return;
  }
  const failures = { 409: "kiosk.full", 401: "kiosk.not_paired", 422: "kiosk.enrol_failed" };
  say(response ? failures[response.status] || "kiosk.error" : "kiosk.offline", {}, true);
  $("deposit").disabled = false;
  kiosk.mode = "idle";
  idleLater();
}

async function enterPin(event) {
  event.preventDefault();
  const pin = $("pin-input").value.trim();
  $("pin-input").value = "";
  let response = null;
  try {
    response = await fetch("/retrieve/pin", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ pin }),
    });
  } catch (error) {
    response = null;
  }
  if (response && response.ok) {
    const entry = await response.json();
    if (!entry.unlocked) say("kiosk.pin_then_face", {}, true);
    return;  // an unlock is announced by the feed's door message, as a face's is
  }
  const failures = {
    403: "kiosk.pin_refused", 429: "kiosk.pin_wait", 422: "kiosk.pin_format", 409: "kiosk.contact_operator",
    401: "kiosk.not_paired",
  };
  say(response ? failures[response.status] || "kiosk.error" : "kiosk.offline", {}, true);
}

/* ------------------------------------------------------------------ feed */
function onFace(message) {
  drawBox(message.box);
  if (message.reason === "no_face") kiosk.verdict = null;  // the person left: forget what was said to them
  instruct(message.reason);
}

function onReason(message) {
  // The worker says a verdict once (when it changes); it stays on screen while the same face is there.
  if (VERDICTS.has(message.reason)) kiosk.verdict = message.reason;
  instruct(message.reason);
}

function instruct(reason) {
  if (kiosk.mode === "enrolling") {
    say(reason === "face_ok" ? "kiosk.keep_looking" : `reason.${reason}`);
  } else if (kiosk.mode === "idle" && Date.now() > kiosk.holdUntil) {
    if (QUIET_REASONS.has(reason)) say("kiosk.welcome");
    else if (reason === "face_ok") say(kiosk.verdict ? `reason.${kiosk.verdict}` : "kiosk.checking");
    else say(`reason.${reason}`);
  }
}

function onEnrol(message) {
  $("enrol").hidden = false;
  $("enrol").max = message.needed;
  $("enrol").value = message.good;
}

function onRefused(message) {
  kiosk.verdict = message.reason;
  if (kiosk.mode === "idle") say(`reason.${message.reason}`, {}, true);
}

function onDoor(message) {
  kiosk.openDoors.delete(message.door);  // unlocked now: it opens after this
  if (message.purpose !== "retrieval") return;
  kiosk.verdict = null;
  clearTimeout(kiosk.idleTimer);
  kiosk.mode = "retrieval-open";
  showDoor(message.door);
  say("kiosk.retrieval_open", { door: message.door });
}

function onOpened(message) {
  // Doors seen open (the feed can say so before the deposit call has answered).
  kiosk.openDoors.add(message.door);
  renderDoorControls();
}

function onDone(message) {
  kiosk.openDoors.delete(message.door);
  if (message.door !== kiosk.door) return;
  say(message.purpose === "deposit" ? "kiosk.deposit_done" : "kiosk.retrieval_done", { door: message.door }, true);
  kiosk.mode = "done";
  $("door").hidden = true;
  idleLater(HOLD_MS);
}

function listen() {
  const feed = new EventSource("/kiosk/feed");
  const handlers = {
    face: onFace, reason: onReason, enrol: onEnrol, refused: onRefused, door: onDoor, opened: onOpened, done: onDone,
  };
  for (const [kind, handle] of Object.entries(handlers)) {
    feed.addEventListener(kind, (event) => handle(JSON.parse(event.data)));
  }
  feed.addEventListener("open", () => { document.body.dataset.feed = "open"; });
}

function drawBox(box) {
  const el = $("face-box");
  el.hidden = !box;
  if (!box) return;
  const [x1, y1, x2, y2] = box;
  Object.assign(el.style, {
    left: `${x1 * 100}%`, top: `${y1 * 100}%`, width: `${(x2 - x1) * 100}%`, height: `${(y2 - y1) * 100}%`,
  });
}

/* ------------------------------------------------------------- simulate mode */
async function setUpSimulator() {
  const response = await fetch("/kiosk/setup");
  if (response.status === 401) {
    // Outside simulate mode only a paired kiosk may deposit: say so instead of failing at the first touch.
    $("deposit").disabled = true;
    say("kiosk.not_paired");
  }
  if (!response.ok) return;
  const setup = await response.json();
  if (!setup.simulate) return;
  $("simulator").hidden = false;
  for (const sample of setup.samples) {
    const option = document.createElement("option");
    option.value = sample.id;
    option.textContent = `${I18N.t("sim.sample")}: ${sample.id.replaceAll("_", " ")}`;
    option.dataset.frames = sample.frames;
    $("source").append(option);
  }
  $("source").addEventListener("change", chooseSource);
  setInterval(sendFrame, FRAME_INTERVAL_MS);
}

async function chooseSource() {
  const source = $("source").value;
  $("video").hidden = source !== "webcam";
  $("sample").hidden = !source || source === "webcam";
  if (source === "webcam" && !$("video").srcObject) {
    try {
      $("video").srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch (error) {
      say("sim.no_webcam", {}, true);
    }
  }
}

async function nextSampleBlob(person) {
  const option = $("source").selectedOptions[0];
  const index = kiosk.sampleIndex++ % Number(option.dataset.frames);
  const key = `${person}/${index}`;
  if (!kiosk.samples[key]) {
    const response = await fetch(`/kiosk/samples/${encodeURIComponent(person)}/${index}`);
    kiosk.samples[key] = await response.blob();
  }
  $("sample").src = URL.createObjectURL(kiosk.samples[key]);
  return kiosk.samples[key];
}

function webcamBlob() {
  const video = $("video");
  if (!video.videoWidth) return Promise.resolve(null);
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
}

async function sendFrame() {
  const source = $("source").value;
  if (!source || kiosk.sending) return;
  kiosk.sending = true;
  try {
    const blob = source === "webcam" ? await webcamBlob() : await nextSampleBlob(source);
    if (blob) await fetch("/simulate/frames", { method: "POST", body: blob });
  } finally {
    kiosk.sending = false;
  }
}

function renderDoorControls() {
  const doors = $("doors");
  doors.replaceChildren();
  // A person closes a door once it has opened (the simulator pops it a moment after the unlock).
  if ($("simulator").hidden || !kiosk.openDoors.has(kiosk.door)) return;
  const close = document.createElement("button");
  close.dataset.testid = "sim-close-door";
  close.textContent = I18N.t("sim.close_door", { door: kiosk.door });
  close.addEventListener("click", () => fetch(`/simulate/doors/${kiosk.door}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action: "close" }),
  }));
  doors.append(close);
}

async function start() {
  await I18N.load();
  idle();
  $("deposit").addEventListener("click", deposit);
  $("pin-form").addEventListener("submit", enterPin);
  listen();
  await setUpSimulator();
}

start();
