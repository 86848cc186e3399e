// A small Web Audio synth: one oscillator and envelope per note; one player at a time.

import { notesOf } from "./pianoroll.js";
import { store, vocab } from "./store.js";

let context = null;
let current = null;

/** The page's AudioContext, made (and resumed) on first use: call it from a click. */
export function audioContext() {
  if (!context) context = new AudioContext();
  if (context.state === "suspended") context.resume();
  return context;
}

function frequency(pitch) {
  return 440 * 2 ** ((pitch - 69) / 12);
}

function scheduleNote(ctx, output, pitch, start, end) {
  const osc = ctx.createOscillator();
  const env = ctx.createGain();
  osc.type = "triangle";
  osc.frequency.value = frequency(pitch);
  const attack = 0.008;
  const decay = 0.12;
  const release = 0.09;
  const hold = Math.max(end - start, attack + 0.02);
  env.gain.setValueAtTime(0, start);
  env.gain.linearRampToValueAtTime(0.9, start + attack);
  env.gain.setTargetAtTime(0.5, start + attack, decay / 3);
  env.gain.setValueAtTime(0.5, start + hold);
  env.gain.setTargetAtTime(0, start + hold, release / 3);
  osc.connect(env).connect(output);
  osc.start(start);
  osc.stop(start + hold + release * 2);
  return osc;
}

/** Stop whatever is playing. */
export function stop() {
  if (current) current.stop();
}

/**
 * Play melodies (token arrays) one after another at the studio's tempo.
 * onStep(index, step) is called as the playhead moves (step null when a melody ends);
 * returns a handle with stop() and a `done` promise.
 */
export function play(melodies, { onStep = () => {} } = {}) {
  stop();
  const ctx = audioContext();
  const stepSeconds = 60 / store.tempo / vocab().steps_per_quarter;
  const master = ctx.createGain();
  master.gain.value = 0.22;
  const filter = ctx.createBiquadFilter();
  filter.type = "lowpass";
  filter.frequency.value = 3200;
  master.connect(filter).connect(ctx.destination);
  const t0 = ctx.currentTime + 0.06;
  const oscillators = [];
  const offsets = [];
  let offset = 0;
  for (const tokens of melodies) {
    offsets.push(offset);
    for (const n of notesOf(tokens)) {
      oscillators.push(scheduleNote(ctx, master, n.pitch, t0 + (offset + n.start) * stepSeconds,
        t0 + (offset + n.end) * stepSeconds));
    }
    offset += tokens.length;
  }
  const total = offset * stepSeconds;
  let frame = null;
  let shown = -1;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const handle = {
    done,
    stop() {
      cancelAnimationFrame(frame);
      for (const osc of oscillators) {
        try { osc.stop(); } catch { /* not started yet or already stopped */ }
      }
      master.disconnect();
      if (shown >= 0) onStep(shown, null);
      document.body.dataset.playing = "";
      if (current === handle) current = null;
      resolveDone();
    },
  };
  const tick = () => {
    const elapsed = ctx.currentTime - t0;
    if (elapsed >= total) {
      handle.stop();
      return;
    }
    const step = Math.max(0, Math.floor(elapsed / stepSeconds));
    let index = offsets.length - 1;
    while (index > 0 && offsets[index] > step) index -= 1;
    if (shown >= 0 && shown !== index) onStep(shown, null);
    shown = index;
    onStep(index, step - offsets[index]);
    frame = requestAnimationFrame(tick);
  };
  document.body.dataset.playing = "1";
  current = handle;
  frame = requestAnimationFrame(tick);
  return handle;
}
