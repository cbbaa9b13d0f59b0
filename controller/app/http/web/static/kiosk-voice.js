/* Voice guidance: each kiosk message spoken in the page's language, in the order the flow says them. */
"use strict";
const Voice = {
  on: false,
  rate: 1,
  spoken: [],  // what was handed to the speech engine, in order (the tests read it from #spoken)
  locale() { return I18N.lang === "ko" ? "ko-KR" : "en-US"; },
  voice() {
    const voices = window.speechSynthesis ? speechSynthesis.getVoices() : [];
    return voices.find((v) => v.lang.replace("_", "-").startsWith(I18N.lang)) || null;
  },
  /** Turn guidance on or off; without a voice for the language, say so on screen (the text stays). */
  toggle(on) {
    this.on = on;
    document.getElementById("voice").setAttribute("aria-pressed", String(on));
    if (!on && window.speechSynthesis) speechSynthesis.cancel();
    this.showFallback();
    if (on) this.say(document.getElementById("message").textContent);
  },
  showFallback() {
    document.getElementById("voice-missing").hidden = !this.on || this.voice() !== null;
  },
  /** Queue ``text`` after what is being said (speechSynthesis keeps the order it was given). */
  say(text) {
    if (!this.on || !text) return;
    this.spoken.push(text);
    const log = document.getElementById("spoken");
    if (log) log.append(Object.assign(document.createElement("li"), { textContent: text }));
    if (!window.speechSynthesis) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = this.locale();
    utterance.rate = this.rate;
    const voice = this.voice();
    if (voice) utterance.voice = voice;
    speechSynthesis.speak(utterance);
  },
  setUp() {
    document.getElementById("voice").addEventListener("click", () => this.toggle(!this.on));
    document.getElementById("voice-speed").addEventListener("change", (event) => {
      this.rate = Number(event.target.value);
    });
    // Voices load after the page in Chromium: judge the fallback again when they arrive.
    if (window.speechSynthesis) speechSynthesis.addEventListener("voiceschanged", () => this.showFallback());
  },
};
