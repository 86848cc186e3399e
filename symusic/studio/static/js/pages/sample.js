// Sample: melodies drawn from the prior at a chosen temperature.

import { post } from "../api.js";
import { resultCards } from "../card.js";
import { store } from "../store.js";
import { busy, el, temperatureSlider } from "../ui.js";

/** Build the page inside `root`. */
export function initSample(root) {
  const count = el("input", { type: "number", id: "sample-count", min: 1, max: 16, value: 4 });
  const temperature = temperatureSlider(0.5, "sample-temperature");
  const seed = el("input", { type: "number", id: "sample-seed", min: 0, placeholder: "random" });
  // a model with a fitted prior (tools.fit_prior) draws z from it unless told N(0, I)
  const fitted = store.info && store.info.prior !== "normal";
  const prior = el("select", { id: "sample-prior" },
    el("option", { value: "auto" }, fitted ? `the model's (${store.info.prior})` : "N(0, I)"),
    ...(fitted ? [el("option", { value: "normal" }, "N(0, I)")] : []));
  const go = el("button", { id: "sample-go", class: "primary" }, "sample");
  const { playAll, download, results, show } = resultCards("sample",
    { playLabel: "▶ play all", downloadLabel: "⬇ all as MIDI", fileName: "samples.mid" });

  go.addEventListener("click", () => busy(go, async () => {
    const body = { count: Number(count.value) || 4, temperature: Number(temperature.input.value),
      prior: prior.value };
    if (seed.value !== "") body.seed = Number(seed.value);
    const { melodies } = await post("/api/sample", body);
    show(melodies, melodies.map((_, i) => `sample ${i + 1}`));
  }));

  root.append(
    el("p", { class: "intro" }, "Melodies decoded from random points of the latent space (z drawn " +
      "from the prior). Temperature 0 decodes greedily; higher values take more chances."),
    el("div", { class: "controls" },
      el("label", {}, "melodies ", count), temperature, el("label", {}, "seed ", seed),
      el("label", {}, "prior ", prior), go, playAll, download),
    results);
  go.click();  // the page opens on a first set of samples, not an empty page
}
