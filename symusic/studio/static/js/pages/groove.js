// Groove (humanize) and Drumify: a beat or taps in, GrooVAE's played beat out, side by side.

import { post, upload } from "../api.js";
import {
  cellAt, drawGroove, emptyGroove, hitCount, hitsOf, STEPS_PER_BAR, tapsToGroove, toggleHit,
} from "../groove.js";
import { store, vocab } from "../store.js";
import { audioContext, playHits, stop } from "../synth.js";
import { busy, el, temperatureSlider } from "../ui.js";

const ROCK = [[0, 0], [8, 0], [10, 0], [4, 1], [12, 1]]; // (step, class) of one bar; hats below

/** A two-bar rock beat on the grid (a starting point to edit). */
function rockBeat(bars) {
  let groove = emptyGroove(bars);
  for (let bar = 0; bar < bars; bar += 1) {
    for (const [step, row] of ROCK) groove = toggleHit(groove, bar * STEPS_PER_BAR + step, row);
    for (let step = 0; step < STEPS_PER_BAR; step += 2) groove = toggleHit(groove, bar * STEPS_PER_BAR + step, 2);
  }
  return groove;
}

function stepSeconds() {
  return 60 / store.tempo / 4;
}

async function downloadGroove(groove, filename) {
  const blob = await post("/api/groove/midi", { groove, tempo: store.tempo, filename });
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** A lane: a title, a canvas drawing a groove, play and download buttons. */
function lane(id, title, fileName, { onClick } = {}) {
  const canvas = el("canvas", { id: `${id}-canvas`, class: "groove-roll", width: 900, height: 180 });
  const info = el("span", { id: `${id}-info`, class: "muted" });
  const play = el("button", { id: `${id}-play` }, "▶ play");
  const save = el("button", { id: `${id}-download` }, "⬇ MIDI");
  const node = el("div", { class: "groove-lane" }, el("h3", {}, title, " ", info), canvas,
    el("div", { class: "controls" }, play, save));
  const state = { groove: null };
  const names = () => vocab().class_names || [];
  const draw = (playhead = null) => { if (state.groove) drawGroove(canvas, state.groove, { names: names(), playhead }); };
  state.set = (groove, text = "") => {
    state.groove = groove;
    info.textContent = text || `${groove.length / STEPS_PER_BAR} bars, ${hitCount(groove)} hits`;
    draw();
  };
  play.addEventListener("click", () => {
    if (!state.groove) return;
    playHits(hitsOf(state.groove), state.groove.length, { stepSeconds: stepSeconds(), onStep: draw });
  });
  save.addEventListener("click", () => busy(save, () => state.groove && downloadGroove(state.groove, fileName)));
  if (onClick) canvas.addEventListener("click", (event) => state.groove && onClick(cellAt(canvas, state.groove, event)));
  state.node = node;
  return state;
}

function uploadInput(id, onFile) {
  const input = el("input", { type: "file", id, accept: ".mid,.midi,audio/midi" });
  input.addEventListener("change", () => { if (input.files[0]) onFile(input.files[0]); input.value = ""; });
  return input;
}

/** The Groove page: draw or upload a mechanical beat, hear it humanized. */
export function initGroove(root) {
  const bars = el("select", { id: "groove-bars" }, ...[2, 4, 8].map((b) => el("option", { value: b }, `${b} bars`)));
  const temperature = temperatureSlider(0, "groove-temperature");
  const go = el("button", { id: "groove-go", class: "primary" }, "humanize");
  const input = lane("groove-input", "mechanical (click the grid to add or remove hits)", "mechanical.mid", {
    onClick: ({ step, row }) => input.set(toggleHit(input.groove, step, row)),
  });
  const output = lane("groove-output", "humanized", "humanized.mid");
  const file = uploadInput("groove-upload", (f) => busy(go, async () => {
    const beat = await upload("/api/groove/upload", f);
    store.tempo = beat.qpm;
    document.getElementById("tempo").value = Math.round(beat.qpm);
    input.set(beat.groove, `${beat.name}, ${beat.track}, ${beat.bars} bars at ${Math.round(beat.qpm)} bpm` +
      (beat.cut ? " (the first bars only)" : ""));
  }));
  bars.addEventListener("change", () => input.set(rockBeat(Number(bars.value))));
  const clear = el("button", { id: "groove-clear" }, "clear");
  clear.addEventListener("click", () => input.set(emptyGroove(input.groove.length / STEPS_PER_BAR)));
  go.addEventListener("click", () => busy(go, async () => {
    const answer = await post("/api/groove/perform", { groove: input.groove, temperature: Number(temperature.input.value) });
    output.set(answer.groove, `${answer.hits_in} hits in, ${answer.hits_out} out`);
  }));
  root.append(
    el("p", { class: "intro" }, "Draw a beat on the grid (or upload a drum MIDI file) and humanize it: " +
      "GrooVAE plays it as a drummer would, with timing and dynamics. Hits are drawn where they " +
      "are played, as tall as they are loud; red lines show how far from the grid."),
    el("div", { class: "controls" }, bars, el("label", {}, "upload a beat ", file), clear, temperature, go),
    input.node, output.node);
  input.set(rockBeat(2));
}

/** The Drumify page: tap a rhythm on the keyboard (or upload one), hear the beat. */
export function initDrumify(root) {
  const bars = el("select", { id: "drumify-bars" }, ...[2, 4].map((b) => el("option", { value: b }, `${b} bars`)));
  const temperature = temperatureSlider(0.3, "drumify-temperature");
  const record = el("button", { id: "drumify-record" }, "● tap (any key)");
  const go = el("button", { id: "drumify-go", class: "primary" }, "drumify");
  const taps = lane("drumify-taps", "taps", "taps.mid");
  const output = lane("drumify-output", "drumified", "drumified.mid");
  const file = uploadInput("drumify-upload", (f) => busy(go, async () => {
    const beat = await upload("/api/groove/upload?taps=1", f);
    store.tempo = beat.qpm;
    document.getElementById("tempo").value = Math.round(beat.qpm);
    taps.set(beat.groove, `${beat.name}, ${beat.track}, ${beat.bars} bars at ${Math.round(beat.qpm)} bpm`);
  }));
  record.addEventListener("click", () => {
    // one bar of clicks to count in, then the taps are recorded for the chosen bars
    const ctx = audioContext();
    const n = Number(bars.value);
    const seconds = stepSeconds();
    const start = ctx.currentTime + 0.1 + STEPS_PER_BAR * seconds;
    const times = [];
    const clicks = [];
    for (let beat = 0; beat < 4 * (n + 1); beat += 1) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = beat % 4 === 0 ? 1500 : 1000;
      gain.gain.value = beat < 4 ? 0.2 : 0.06;
      osc.connect(gain).connect(ctx.destination);
      const at = start + (beat - 4) * 4 * seconds;
      osc.start(at);
      osc.stop(at + 0.03);
      clicks.push(osc);
    }
    const onKey = (event) => {
      if (event.repeat) return;
      event.preventDefault();
      times.push(ctx.currentTime - start);
    };
    window.addEventListener("keydown", onKey);
    record.disabled = true;
    setTimeout(() => {
      window.removeEventListener("keydown", onKey);
      record.disabled = false;
      taps.set(tapsToGroove(times, n, seconds));
    }, (0.1 + (n + 1) * STEPS_PER_BAR * seconds) * 1000 + 150);
  });
  go.addEventListener("click", () => busy(go, async () => {
    stop();
    const answer = await post("/api/groove/perform", { groove: taps.groove, temperature: Number(temperature.input.value) });
    output.set(answer.groove, `${answer.hits_in} taps in, ${answer.hits_out} hits out`);
  }));
  root.append(
    el("p", { class: "intro" }, "Tap a rhythm on the keyboard after a bar of count-in clicks (or upload " +
      "a MIDI file: the onsets of its drum track, or of its busiest track, are the taps), then " +
      "drumify it: GrooVAE turns the taps into a full beat with timing and dynamics."),
    el("div", { class: "controls" }, bars, record, el("label", {}, "upload taps ", file), temperature, go),
    taps.node, output.node);
  taps.set(tapsToGroove([0, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 2.75, 3.0, 3.5].map((t) => t * 4 * stepSeconds()), 2, stepSeconds()));
}
