// A small Web Audio synth: one oscillator and envelope per note; one player at a time. A drum
// model's hits are drums made here too (noise and pitch-dropping tones, no sample files).

import { isDrums, isTrio, notesOf } from "./pianoroll.js";
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

let noiseBuffer = null;

/** One second of white noise, made once (the snare, hi-hats and cymbals filter it). */
function noise(ctx) {
  if (!noiseBuffer || noiseBuffer.sampleRate !== ctx.sampleRate) {
    noiseBuffer = ctx.createBuffer(1, ctx.sampleRate, ctx.sampleRate);
    const data = noiseBuffer.getChannelData(0);
    for (let i = 0; i < data.length; i += 1) data[i] = Math.random() * 2 - 1;
  }
  return noiseBuffer;
}

// Per drum class (kick, snare, closed hat, open hat, low/mid/high tom, crash, ride): a tone
// from `from` Hz falling to `to` Hz and/or noise through a `filter` at `cutoff` Hz, `decay` s.
const DRUMS = [
  { from: 150, to: 45, tone: 1.0, decay: 0.35 },
  { from: 220, to: 160, tone: 0.35, noise: 0.8, filter: "bandpass", cutoff: 1800, decay: 0.18 },
  { noise: 0.45, filter: "highpass", cutoff: 7000, decay: 0.05 },
  { noise: 0.45, filter: "highpass", cutoff: 6000, decay: 0.35 },
  { from: 120, to: 80, tone: 0.8, decay: 0.3 },
  { from: 170, to: 115, tone: 0.8, decay: 0.26 },
  { from: 230, to: 160, tone: 0.8, decay: 0.22 },
  { noise: 0.5, filter: "highpass", cutoff: 4000, decay: 1.1 },
  { from: 520, to: 500, tone: 0.12, noise: 0.3, filter: "bandpass", cutoff: 9000, decay: 0.6 },
];

function scheduleHit(ctx, output, row, start) {
  const drum = DRUMS[row] || DRUMS[1];
  const sources = [];
  const env = ctx.createGain();
  env.gain.setValueAtTime(0.0001, start);
  env.gain.exponentialRampToValueAtTime(1, start + 0.003);
  env.gain.exponentialRampToValueAtTime(0.0001, start + drum.decay);
  env.connect(output);
  if (drum.tone) {
    const osc = ctx.createOscillator();
    const level = ctx.createGain();
    osc.frequency.setValueAtTime(drum.from, start);
    osc.frequency.exponentialRampToValueAtTime(drum.to, start + drum.decay * 0.6);
    level.gain.value = drum.tone;
    osc.connect(level).connect(env);
    sources.push(osc);
  }
  if (drum.noise) {
    const source = ctx.createBufferSource();
    const filter = ctx.createBiquadFilter();
    const level = ctx.createGain();
    source.buffer = noise(ctx);
    filter.type = drum.filter;
    filter.frequency.value = drum.cutoff;
    level.gain.value = drum.noise;
    source.connect(filter).connect(level).connect(env);
    sources.push(source);
  }
  for (const source of sources) {
    source.start(start);
    source.stop(start + drum.decay + 0.05);
  }
  return { stop() { for (const source of sources) source.stop(); } };
}

/**
 * The handle of what was just scheduled from t0 (`sources` into `master`): its animation loop
 * calls follow(elapsed seconds) each frame until `total` seconds have played; stop(), then or
 * earlier, silences the sources, calls end() and resolves the handle's `done` promise.
 */
function startPlayback(ctx, master, sources, t0, total, follow, end) {
  let frame = null;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const handle = {
    done,
    stop() {
      cancelAnimationFrame(frame);
      for (const source of sources) {
        try { source.stop(); } catch { /* not started yet or already stopped */ }
      }
      master.disconnect();
      end();
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
    follow(elapsed);
    frame = requestAnimationFrame(tick);
  };
  document.body.dataset.playing = "1";
  current = handle;
  frame = requestAnimationFrame(tick);
  return handle;
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
  // hi-hats and cymbals live above 3 kHz
  filter.frequency.value = isDrums() || isTrio() ? 16000 : 3200;
  master.connect(filter).connect(ctx.destination);
  const t0 = ctx.currentTime + 0.06;
  const oscillators = [];
  const offsets = [];
  let offset = 0;
  for (const tokens of melodies) {
    offsets.push(offset);
    for (const n of notesOf(tokens)) {
      const start = t0 + (offset + n.start) * stepSeconds;
      oscillators.push(n.row === undefined
        ? scheduleNote(ctx, master, n.pitch, start, t0 + (offset + n.end) * stepSeconds)
        : scheduleHit(ctx, master, n.row, start));
    }
    offset += tokens.length;
  }
  let shown = -1;
  const follow = (elapsed) => {
    const step = Math.max(0, Math.floor(elapsed / stepSeconds));
    let index = offsets.length - 1;
    while (index > 0 && offsets[index] > step) index -= 1;
    if (shown >= 0 && shown !== index) onStep(shown, null);
    shown = index;
    onStep(index, step - offsets[index]);
  };
  const end = () => { if (shown >= 0) onStep(shown, null); };
  return startPlayback(ctx, master, oscillators, t0, offset * stepSeconds, follow, end);
}

/**
 * Play a groove (27 numbers a step: symusic.data.groove_windows) with its timing and
 * velocities: each hit at its played time, as loud as its velocity. `hits` is
 * groove.js's hitsOf(groove) and `steps` the groove's length; onStep(step) follows the
 * playhead (null at the end). Returns a handle with stop() and a `done` promise.
 */
export function playHits(hits, steps, { stepSeconds, onStep = () => {} }) {
  stop();
  const ctx = audioContext();
  const master = ctx.createGain();
  master.gain.value = 0.3;
  master.connect(ctx.destination);
  const t0 = ctx.currentTime + 0.06;
  const sources = [];
  for (const hit of hits) {
    const level = ctx.createGain();
    level.gain.value = 0.15 + 0.85 * hit.velocity;
    level.connect(master);
    sources.push(scheduleHit(ctx, level, hit.row, t0 + Math.max(hit.time, 0) * stepSeconds));
  }
  const follow = (elapsed) => onStep(Math.max(0, Math.floor(elapsed / stepSeconds)));
  return startPlayback(ctx, master, sources, t0, steps * stepSeconds, follow,
                       () => onStep(null));
}
