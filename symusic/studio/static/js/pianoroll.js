// Token melodies as notes, and notes drawn on a canvas as a piano roll (or, for a drum
// model, a grid with one row per drum class; for a trio model, three lanes: the melody and
// the bass as piano rolls, the drums as a grid).

import { vocab } from "./store.js";

/** Whether the model's steps are several parts (a trio: [melody, bass, drums] tokens). */
export function isTrio() {
  return Array.isArray(vocab().part_names);
}

/** Whether the model's tokens are drum hits (each the set of classes hit at a step). */
export function isDrums() {
  return Array.isArray(vocab().class_names) && !isTrio();
}

/** What lane `p` of a trio holds: "melody" tokens or "drums" hits. */
function laneKind(p) {
  return vocab().part_names[p] === "drums" ? "drums" : "melody";
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
 * (a drum model's: its hits, each a step long, with the row of its class; a trio's: every
 * part's, each with its `lane`). */
export function notesOf(tokens) {
  const v = vocab();
  if (isTrio()) {
    return v.part_names.flatMap((_, p) => laneNotes(tokens.map((step) => step[p]), laneKind(p))
      .map((n) => ({ ...n, lane: p })));
  }
  return laneNotes(tokens, v.class_names ? "drums" : "melody");
}

/** The notes of one part's tokens, read as melody tokens or drum hits. */
function laneNotes(tokens, kind) {
  const v = vocab();
  if (kind === "drums") return hitsOf(tokens, v);
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

/** The lowest and highest pitch to show for several melodies: at least an octave (a trio:
 * one range a lane). */
export function pitchRange(melodies) {
  if (isTrio()) {
    return vocab().part_names.map((_, p) => laneRange(
      melodies.map((tokens) => tokens.map((step) => step[p])), laneKind(p)));
  }
  return laneRange(melodies, isDrums() ? "drums" : "melody");
}

function laneRange(melodies, kind) {
  if (kind === "drums") return [0, vocab().class_names.length - 1]; // every class row, always
  const pitches = melodies.flatMap((tokens) => laneNotes(tokens, kind).map((n) => n.pitch));
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
 * A trio is three lanes one above the other (`range`: one a lane).
 */
export function drawRoll(canvas, tokens, { range = null, playhead = null } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || Number(canvas.getAttribute("width"));
  const height = canvas.clientHeight || Number(canvas.getAttribute("height"));
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  if (!isTrio()) {
    const kind = isDrums() ? "drums" : "melody";
    drawLane(g, tokens, kind, range || pitchRange([tokens]), playhead, width, height);
    return;
  }
  const ranges = range || pitchRange([tokens]);
  const laneH = height / vocab().part_names.length;
  vocab().part_names.forEach((name, p) => {
    g.save();
    g.translate(0, p * laneH);
    drawLane(g, tokens.map((step) => step[p]), laneKind(p), ranges[p], playhead, width,
      laneH - 2, name);
    g.restore();
  });
}

/** One lane of `kind` ("melody" or "drums") in a `width` x `height` box at the origin. */
function drawLane(g, tokens, kind, [lo, hi], playhead, width, height, label = "") {
  const v = vocab();
  const rows = hi - lo + 1;
  const rowH = height / rows;
  const stepW = width / tokens.length;
  g.fillStyle = "#fbfbfd";
  g.fillRect(0, 0, width, height);
  const drums = kind === "drums";
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
  const notes = laneNotes(tokens, kind);
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
  if (label) {
    g.fillStyle = "#5a6070";
    g.font = "10px sans-serif";
    g.textAlign = "right";
    g.fillText(label, width - 3, 11);
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
