// Token melodies as notes, and notes drawn on a canvas as a piano roll (or, for a drum
// model, a grid with one row per drum class).

import { vocab } from "./store.js";

/** Whether the model's tokens are drum hits (each the set of classes hit at a step). */
export function isDrums() {
  return Array.isArray(vocab().class_names);
}

/** A drum model's hits {pitch, row, start, end}: bit c of a token is class c (row c). */
function hitsOf(tokens, v) {
  const hits = [];
  tokens.forEach((token, step) => {
    v.class_names.forEach((_, c) => {
      if (token & (1 << c)) hits.push({ pitch: v.class_pitches[c], row: c, start: step, end: step + 1 });
    });
  });
  return hits;
}

/** Notes {pitch, start, end} (in 16th steps) of a token melody, as the MIDI writer reads it
 * (a drum model's: its hits, each a step long, with the row of its class). */
export function notesOf(tokens) {
  const v = vocab();
  if (v.class_names) return hitsOf(tokens, v);
  const notes = [];
  let current = null;
  tokens.forEach((token, step) => {
    if (token === v.no_event) return;
    if (current) {
      current.end = step;
      notes.push(current);
      current = null;
    }
    if (token >= v.first_pitch_token) {
      current = { pitch: token - v.first_pitch_token + v.min_pitch, start: step, end: null };
    }
  });
  if (current) {
    current.end = tokens.length;
    notes.push(current);
  }
  return notes;
}

/** The lowest and highest pitch to show for several melodies: at least an octave. */
export function pitchRange(melodies) {
  if (isDrums()) return [0, vocab().class_names.length - 1]; // every class row, always
  const pitches = melodies.flatMap((tokens) => notesOf(tokens).map((n) => n.pitch));
  let lo = pitches.length ? Math.min(...pitches) : 60;
  let hi = pitches.length ? Math.max(...pitches) : 72;
  if (hi - lo < 12) {
    const mid = Math.round((lo + hi) / 2);
    lo = mid - 6;
    hi = mid + 6;
  }
  return [lo - 1, hi + 1];
}

const BLACK_KEYS = new Set([1, 3, 6, 8, 10]);

/**
 * Draw a melody on a canvas: black-key rows shaded, beats and bars as lines, notes as bars.
 * `range` [lo, hi] (pitches) lets a row of rolls share a scale; `playhead` is a step or null.
 */
export function drawRoll(canvas, tokens, { range = null, playhead = null } = {}) {
  const v = vocab();
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || Number(canvas.getAttribute("width"));
  const height = canvas.clientHeight || Number(canvas.getAttribute("height"));
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  const [lo, hi] = range || pitchRange([tokens]);
  const rows = hi - lo + 1;
  const rowH = height / rows;
  const stepW = width / tokens.length;
  g.fillStyle = "#fbfbfd";
  g.fillRect(0, 0, width, height);
  const drums = Boolean(v.class_names);
  for (let p = lo; p <= hi; p += 1) {
    if (drums ? p % 2 === 1 : BLACK_KEYS.has(((p % 12) + 12) % 12)) {
      g.fillStyle = "#eef0f5";
      g.fillRect(0, (hi - p) * rowH, width, rowH);
    }
  }
  for (let step = 0; step <= tokens.length; step += v.steps_per_quarter) {
    const bar = step % v.steps_per_bar === 0;
    g.strokeStyle = bar ? "#9aa1b1" : "#dde0e8";
    g.lineWidth = bar ? 1.2 : 0.7;
    g.beginPath();
    g.moveTo(step * stepW + 0.5, 0);
    g.lineTo(step * stepW + 0.5, height);
    g.stroke();
  }
  const notes = notesOf(tokens);
  for (const n of notes) {
    const x = n.start * stepW + 0.5;
    const y = (hi - (drums ? n.row : n.pitch)) * rowH + 0.5;
    g.fillStyle = playhead !== null && n.start <= playhead && playhead < n.end ? "#f08a24" : "#3d6fd6";
    g.fillRect(x, y, Math.max((n.end - n.start) * stepW - 1, 2), Math.max(rowH - 1, 2));
  }
  if (drums && rowH >= 8) {
    g.fillStyle = "#8a90a0";
    g.font = `${Math.min(10, rowH - 1)}px sans-serif`;
    g.textAlign = "left";
    v.class_names.forEach((name, c) => g.fillText(name, 2, (hi - c + 0.8) * rowH));
  }
  if (!notes.length) {
    g.fillStyle = "#8a90a0";
    g.font = "12px sans-serif";
    g.textAlign = "center";
    g.fillText("(no notes)", width / 2, height / 2);
  }
  if (playhead !== null) {
    g.strokeStyle = "#e0462f";
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(playhead * stepW, 0);
    g.lineTo(playhead * stepW, height);
    g.stroke();
  }
}
