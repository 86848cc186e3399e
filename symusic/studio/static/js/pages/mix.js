// Mix: edit a melody's latent code directly, one slider per most active dimension.

import { get, post } from "../api.js";
import { melodyCard, receiveMelodies } from "../card.js";
import { melodyPicker } from "../picker.js";
import { play } from "../synth.js";
import { takeSent } from "../store.js";
import { busy, el, latestOnly, showMessage, slider, temperatureSlider } from "../ui.js";

/** Build the page inside `root`. */
export function initMix(root) {
  const sent = takeSent("mix");
  let startZ = null;
  let z = null;
  let resultCard = null;
  const picker = melodyPicker({ label: "start from", id: "mix-start", start: sent ? null : "random", onPick: (m) => setStart(m) });
  const dimCount = el("select", { id: "mix-dims" }, [8, 12, 16, 24, 32].map((n) => el("option", { value: n, selected: n === 12 }, String(n))));
  const temperature = temperatureSlider(0, "mix-temperature");
  const autoplay = el("input", { type: "checkbox", id: "mix-autoplay" });
  const reset = el("button", { id: "mix-reset" }, "reset");
  const shuffle = el("button", { id: "mix-shuffle" }, "random values");
  const sliders = el("div", { id: "mix-sliders", class: "sliders" });
  const basis = el("p", { class: "hint" });
  const result = el("div", { id: "mix-result", class: "cards" });
  let sliderNodes = [];

  const decode = latestOnly(async () => {
    if (!z) return;
    await busy(null, async () => {
      const { melodies } = await post("/api/decode", { z: [z], temperature: Number(temperature.input.value) });
      const melody = melodies[0];
      if (!resultCard) {
        resultCard = melodyCard(melody, { title: "mixed", actions: ["play", "midi", "steer"] });
        result.replaceChildren(resultCard);
      } else {
        resultCard.update(melody);
      }
      if (autoplay.checked) play([melody.tokens], { onStep: (_, s) => resultCard.draw(s) });
    });
  });

  function syncSliders() {
    for (const node of sliderNodes) node.set(z[node.dim]);
  }
  function setStart(melody) {
    if (!melody.z) {
      showMessage("this melody has no latent code to start from");
      return;
    }
    startZ = melody.z.slice();
    z = melody.z.slice();
    syncSliders();
    decode();
  }
  async function loadDimensions() {
    const info = await get(`/api/dimensions?count=${dimCount.value}`);
    basis.textContent = `The ${info.dims.length} dimensions whose code varies most over ` +
      (info.basis === "data" ? `the ${info.count} data windows` : `${info.count} prior samples, re-encoded (start with --data for the data's)`) +
      "; σ is that spread. Dimensions the model does not use barely change the melody.";
    sliderNodes = info.dims.map((d) => {
      const node = slider({
        label: `z[${d.index}] σ ${d.std.toFixed(2)}`, step: 0.05, value: z ? z[d.index] : 0,
        min: Math.min(-4, d.mean - 4 * d.std).toFixed(2), max: Math.max(4, d.mean + 4 * d.std).toFixed(2),
        format: (v) => Number(v).toFixed(2),
        onInput: (v) => { if (z) { z[d.index] = v; decode(); } },
      });
      node.dim = d.index;
      return node;
    });
    sliders.replaceChildren(...sliderNodes);
  }

  dimCount.addEventListener("change", () => busy(dimCount, loadDimensions));
  temperature.input.addEventListener("change", () => decode());
  reset.addEventListener("click", () => { if (startZ) { z = startZ.slice(); syncSliders(); decode(); } });
  shuffle.addEventListener("click", () => {
    if (!z) return;
    for (const node of sliderNodes) {
      const u = 1 - Math.random();
      const gauss = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
      z[node.dim] = Math.max(-4, Math.min(4, gauss));
    }
    syncSliders();
    decode();
  });

  root.append(
    el("p", { class: "intro" }, "Steer a melody by hand: each slider sets one coordinate of its latent " +
      "code, and the code is decoded again on every move."),
    el("div", { class: "mix-layout" },
      el("div", {}, picker),
      el("div", {},
        el("div", { class: "controls" }, el("label", {}, "sliders ", dimCount), temperature,
          el("label", {}, autoplay, " play each change"), reset, shuffle),
        basis, sliders, el("h3", {}, "result"), result)));
  receiveMelodies("mix", picker, sent, setStart);
  busy(null, loadDimensions);
}
