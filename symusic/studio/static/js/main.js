// The studio's entry point: load the model's info, wire the tabs, build each page on first show.

import { initAttributes } from "./pages/attributes.js";
import { initDrumify, initGroove } from "./pages/groove.js";
import { initMap } from "./pages/map.js";
import { initMix } from "./pages/mix.js";
import { initSample } from "./pages/sample.js";
import { initWalk } from "./pages/walk.js";
import { loadStore, store } from "./store.js";
import { stop } from "./synth.js";
import { clearMessage, showMessage } from "./ui.js";

const TOKEN_PAGES = { sample: initSample, walk: initWalk, mix: initMix, map: initMap, steer: initAttributes };
const GROOVE_PAGES = { groove: initGroove, drumify: initDrumify }; // a GrooVAE model's pages
let PAGES = TOKEN_PAGES;
const built = new Set();

function showPage(name) {
  for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== `page-${name}`;
  for (const tab of document.querySelectorAll("nav button")) tab.classList.toggle("active", tab.dataset.page === name);
  if (!built.has(name)) {
    built.add(name);
    PAGES[name](document.getElementById(`page-${name}`));
  }
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

async function start() {
  document.querySelector("#message .close").addEventListener("click", clearMessage);
  try {
    await loadStore();
  } catch (err) {
    showMessage(`cannot start: ${err.message}`);
    return;
  }
  const { info } = store;
  const data = info.data
    ? `${info.data.files} MIDI files in ${info.data.folder}`
    : "no data folder";
  document.getElementById("model-info").textContent =
    `${info.checkpoint} · ${info.bars} bars · z ${info.z_size} · ${data}`;
  const tempo = document.getElementById("tempo");
  tempo.addEventListener("change", () => { store.tempo = Math.min(300, Math.max(30, Number(tempo.value) || 120)); });
  document.getElementById("stop").addEventListener("click", stop);
  const groove = info.representation === "groove";
  PAGES = groove ? GROOVE_PAGES : TOKEN_PAGES;
  for (const tab of document.querySelectorAll("nav button")) {
    tab.hidden = !(tab.dataset.page in PAGES);
    tab.addEventListener("click", () => showPage(tab.dataset.page));
  }
  document.addEventListener("studio:show-page", (e) => showPage(e.detail));
  const first = location.hash.slice(1);
  showPage(PAGES[first] ? first : Object.keys(PAGES)[0]);
  document.body.dataset.ready = "1";
}

start();
