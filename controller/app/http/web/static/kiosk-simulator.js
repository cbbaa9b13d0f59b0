/* Simulate mode's panel: sample faces or the webcam as the kiosk camera, and closing the simulated doors. */
"use strict";
const FRAME_INTERVAL_MS = 450;
const simulator = { samples: {}, sampleIndex: 0, sending: false };

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
  const index = simulator.sampleIndex++ % Number(option.dataset.frames);
  const key = `${person}/${index}`;
  if (!simulator.samples[key]) {
    const response = await fetch(`/kiosk/samples/${encodeURIComponent(person)}/${index}`);
    simulator.samples[key] = await response.blob();
  }
  $("sample").src = URL.createObjectURL(simulator.samples[key]);
  return simulator.samples[key];
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
  if (!source || simulator.sending) return;
  simulator.sending = true;
  try {
    const blob = source === "webcam" ? await webcamBlob() : await nextSampleBlob(source);
    if (blob) await fetch("/simulate/frames", { method: "POST", body: blob });
  } finally {
    simulator.sending = false;
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


