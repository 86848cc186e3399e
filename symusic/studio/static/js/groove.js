// Grooves on the page: 27 numbers a 16th step (9 hits, 9 velocities 0..1, 9 offsets -1..1 of
// half a step, as symusic.data.groove_windows writes them), drawn where each hit is played and
// played with its timing and velocity. The pure functions come first (tested with node).

export const CLASSES = 9;
export const STEPS_PER_BAR = 16;
const VELOCITY = CLASSES;
const OFFSET = 2 * CLASSES;
export const TAP_CLASS = 3; // the converter's tapify puts every tap on the open hi-hat
export const FLAT_VELOCITY = 100 / 127; // a mechanical beat's hits

/** An empty groove of `bars` bars. */
export function emptyGroove(bars) {
  return Array.from({ length: bars * STEPS_PER_BAR }, () => new Array(3 * CLASSES).fill(0));
}

/** Every hit of a groove: {row, step, velocity, offset, time} (time in steps, as played). */
export function hitsOf(groove) {
  const hits = [];
  groove.forEach((values, step) => {
    for (let row = 0; row < CLASSES; row += 1) {
      if (values[row] > 0.5) {
        const offset = values[OFFSET + row];
        hits.push({ row, step, velocity: values[VELOCITY + row], offset, time: step - offset / 2 });
      }
    }
  });
  return hits;
}

/** The groove with the hit of `row` at `step` switched on (mechanical) or off; a new groove. */
export function toggleHit(groove, step, row) {
  const next = groove.map((values) => values.slice());
  const on = next[step][row] > 0.5;
  next[step][row] = on ? 0 : 1;
  next[step][VELOCITY + row] = on ? 0 : FLAT_VELOCITY;
  next[step][OFFSET + row] = 0;
  return next;
}

/**
 * Taps (seconds from the first bar line) as a groove of `bars` bars at `stepSeconds` a step:
 * each on the tap channel at its nearest step, its offset as the converter measures it
 * ((grid time - tap time) / step * 2), the loudest of a step kept (all at `velocity`).
 */
export function tapsToGroove(times, bars, stepSeconds, velocity = FLAT_VELOCITY) {
  const groove = emptyGroove(bars);
  for (const time of times) {
    const exact = time / stepSeconds;
    const step = Math.floor(exact + 0.5);
    if (step < 0 || step >= groove.length || groove[step][TAP_CLASS] > 0.5) continue;
    groove[step][TAP_CLASS] = 1;
    groove[step][VELOCITY + TAP_CLASS] = velocity;
    groove[step][OFFSET + TAP_CLASS] = (step - exact) * 2;
  }
  return groove;
}

/** How many hits a groove has. */
export function hitCount(groove) {
  return hitsOf(groove).length;
}

// --- drawing and playing (the browser) ----------------------------------------------------

/**
 * Draw a groove on a canvas: a row per class (kick at the bottom), the 16th grid faint,
 * beats and bars darker; each hit a bar at its played time, as tall and dark as its
 * velocity, with a red line from its grid step when it is off the grid.
 */
export function drawGroove(canvas, groove, { names = [], playhead = null } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || Number(canvas.getAttribute("width"));
  const height = canvas.clientHeight || Number(canvas.getAttribute("height"));
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  const rowH = height / CLASSES;
  const stepW = width / groove.length;
  g.fillStyle = "#fbfbfd";
  g.fillRect(0, 0, width, height);
  for (let row = 1; row < CLASSES; row += 2) {
    g.fillStyle = "#eef0f5";
    g.fillRect(0, (CLASSES - 1 - row) * rowH, width, rowH);
  }
  for (let step = 0; step <= groove.length; step += 1) {
    const bar = step % STEPS_PER_BAR === 0;
    const beat = step % 4 === 0;
    g.strokeStyle = bar ? "#9aa1b1" : beat ? "#cfd3dd" : "#eceef3";
    g.lineWidth = bar ? 1.2 : 0.7;
    g.beginPath();
    g.moveTo(step * stepW + 0.5, 0);
    g.lineTo(step * stepW + 0.5, height);
    g.stroke();
  }
  for (const hit of hitsOf(groove)) {
    const y = (CLASSES - 1 - hit.row + 0.5) * rowH;
    const x = (hit.time + 0.5) * stepW;
    if (Math.abs(hit.offset) > 0.02) {
      g.strokeStyle = "#e0462f";
      g.lineWidth = 1.2;
      g.beginPath();
      g.moveTo((hit.step + 0.5) * stepW, y);
      g.lineTo(x, y);
      g.stroke();
    }
    const tall = Math.max(rowH * 0.85 * hit.velocity, 3);
    const active = playhead !== null && hit.step === playhead;
    g.fillStyle = active ? "#f08a24" : `rgba(61, 111, 214, ${0.35 + 0.65 * hit.velocity})`;
    g.fillRect(x - Math.max(stepW * 0.18, 1.5), y - tall / 2, Math.max(stepW * 0.36, 3), tall);
  }
  if (rowH >= 8) {
    g.fillStyle = "#8a90a0";
    g.font = `${Math.min(10, rowH - 1)}px sans-serif`;
    names.forEach((name, row) => g.fillText(name, 2, (CLASSES - 1 - row + 0.8) * rowH));
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

/** The step and class row under a click on a groove canvas drawn by drawGroove. */
export function cellAt(canvas, groove, event) {
  const box = canvas.getBoundingClientRect();
  const step = Math.floor(((event.clientX - box.left) / box.width) * groove.length);
  const row = CLASSES - 1 - Math.floor(((event.clientY - box.top) / box.height) * CLASSES);
  return { step: Math.min(Math.max(step, 0), groove.length - 1), row: Math.min(Math.max(row, 0), CLASSES - 1) };
}
