// Walk: interpolate between two melodies in latent space (spherical, both ends included).

import { post } from "../api.js";
import { resultCards } from "../card.js";
import { melodyPicker } from "../picker.js";
import { busy, el, showMessage, temperatureSlider } from "../ui.js";

/** Build the page inside `root`. */
export function initWalk(root) {
  const from = melodyPicker({ label: "from", id: "walk-from", start: { file: 0, bar: 0 } });
  const to = melodyPicker({ label: "to", id: "walk-to", start: { file: 1, bar: 1 } });
  const steps = el("input", { type: "number", id: "walk-steps", min: 2, max: 33, value: 7 });
  const temperature = temperatureSlider(0, "walk-temperature");
  const go = el("button", { id: "walk-go", class: "primary" }, "interpolate");
  const { playAll, download, results, show } = resultCards("walk",
    { playLabel: "▶ play all in a row", downloadLabel: "⬇ walk as MIDI", fileName: "walk.mid" });

  go.addEventListener("click", () => busy(go, async () => {
    if (!from.melody || !to.melody) {
      showMessage("choose two melodies first: a file and bar, an upload, or a random one", "info");
      return;
    }
    const k = Number(steps.value) || 7;
    const { melodies } = await post("/api/interpolate", {
      start: from.melody.tokens, end: to.melody.tokens, steps: k,
      temperature: Number(temperature.input.value),
    });
    show(melodies, melodies.map((_, i) => `step ${i + 1} of ${k}`));
  }));

  root.append(
    el("p", { class: "intro" }, "Choose two melodies (a file of the data folder with its track and " +
      "start bar, your own MIDI file, or a random one) and walk from one to the other through the " +
      "latent space. The ends are the model's reconstructions of the two melodies."),
    el("div", { class: "pickers" }, from, to),
    el("div", { class: "controls" }, el("label", {}, "steps ", steps), temperature, go, playAll, download),
    results);
}
