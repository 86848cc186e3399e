// Map: the data windows' latent codes on a plane; click a point to hear it and its reconstruction.

import { get } from "../api.js";
import { cardRow, playCards } from "../card.js";
import { audioContext } from "../synth.js";
import { store } from "../store.js";
import { busy, el } from "../ui.js";

const SIZE = 560;
const PAD = 16;

function colour(t) {
  // blue (low) to orange (high) through grey
  const a = [61, 111, 214];
  const b = [240, 138, 36];
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Ranks scaled to [0, 1], so a skewed attribute still spreads over the colour scale. */
function rankScale(values) {
  const order = values.map((v, i) => [v, i]).sort((p, q) => p[0] - q[0]);
  const out = new Array(values.length);
  order.forEach(([, i], r) => { out[i] = values.length > 1 ? r / (values.length - 1) : 0.5; });
  return out;
}

/** Build the page inside `root`. */
export function initMap(root) {
  const method = el("select", { id: "map-method" }, store.info.map_methods.map((m) => el("option", { value: m }, m === "pca" ? "PCA" : "t-SNE")));
  const colourBy = el("select", { id: "map-colour" }, store.info.attributes.map((a) => el("option", { value: a.name }, a.label)));
  const canvas = el("canvas", { id: "map-canvas", width: SIZE, height: SIZE });
  const tip = el("div", { class: "map-tip", hidden: true });
  const legend = el("p", { class: "hint" });
  const detail = el("div", { id: "map-detail", class: "cards" });
  let data = null;
  let selected = -1;
  let hover = -1;

  const px = (i) => PAD + ((data.x[i] + 1) / 2) * (SIZE - 2 * PAD);
  const py = (i) => SIZE - PAD - ((data.y[i] + 1) / 2) * (SIZE - 2 * PAD);

  function draw() {
    const g = canvas.getContext("2d");
    g.fillStyle = "#fbfbfd";
    g.fillRect(0, 0, SIZE, SIZE);
    if (!data) return;
    const shade = rankScale(data.attributes[colourBy.value]);
    for (let i = 0; i < data.x.length; i += 1) {
      g.fillStyle = colour(shade[i]);
      g.globalAlpha = 0.75;
      g.beginPath();
      g.arc(px(i), py(i), i === hover ? 6 : 3.5, 0, 2 * Math.PI);
      g.fill();
    }
    g.globalAlpha = 1;
    if (selected >= 0) {
      g.strokeStyle = "#111";
      g.lineWidth = 2;
      g.beginPath();
      g.arc(px(selected), py(selected), 8, 0, 2 * Math.PI);
      g.stroke();
    }
    const attr = store.info.attributes.find((a) => a.name === colourBy.value);
    legend.textContent = `${data.x.length} windows · colour: ${attr.label} (${attr.unit}), ` +
      "blue = low, orange = high · click a point to hear it and its reconstruction";
  }
  function nearest(event) {
    if (!data) return -1;
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) * SIZE) / box.width;
    const y = ((event.clientY - box.top) * SIZE) / box.height;
    let best = -1;
    let bestD = 12 * 12;
    for (let i = 0; i < data.x.length; i += 1) {
      const d = (px(i) - x) ** 2 + (py(i) - y) ** 2;
      if (d < bestD) { best = i; bestD = d; }
    }
    return best;
  }
  async function load() {
    data = await get(`/api/map?method=${method.value}`);
    selected = -1;
    draw();
  }
  async function choose(index) {
    selected = index;
    draw();
    const point = await get(`/api/map/${index}`);
    const cards = cardRow([point.original, point.reconstruction],
      [`original: ${point.label}`, "reconstruction"]);
    detail.replaceChildren(...cards);
    playCards(cards);
  }

  canvas.addEventListener("mousemove", (event) => {
    const i = nearest(event);
    if (i !== hover) { hover = i; draw(); }
    tip.hidden = i < 0;
    if (i >= 0) {
      tip.textContent = data.labels[i];
      tip.style.left = `${event.offsetX + 14}px`;
      tip.style.top = `${event.offsetY + 8}px`;
    }
  });
  canvas.addEventListener("mouseleave", () => { hover = -1; tip.hidden = true; draw(); });
  canvas.addEventListener("click", (event) => {
    const i = nearest(event);
    if (i < 0) return;
    audioContext(); // unlock audio inside the click, before the request
    busy(null, () => choose(i));
  });
  method.addEventListener("change", () => busy(method, load));
  colourBy.addEventListener("change", draw);

  root.append(
    el("p", { class: "intro" }, "Every window of the data folder, placed by its latent code (" +
      "the first two principal components, or t-SNE when scikit-learn is installed)."),
    el("div", { class: "controls" }, el("label", {}, "projection ", method), el("label", {}, "colour by ", colourBy)),
    el("div", { class: "map-layout" }, el("div", { class: "map-box" }, canvas, tip), el("div", {}, legend, detail)));
  draw();
  busy(null, load);
}
