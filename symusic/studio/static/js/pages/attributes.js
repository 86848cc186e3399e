// Attributes: move a melody along an attribute vector (top minus bottom quartile's mean code).

import { get, post } from "../api.js";
import { cardRow, melodyCard, receiveMelodies } from "../card.js";
import { melodyPicker } from "../picker.js";
import { takeSent } from "../store.js";
import { busy, el, latestOnly, showMessage, slider, temperatureSlider } from "../ui.js";

const SWEEP = [-2, -1, 0, 1, 2];

/** Build the page inside `root`. */
export function initAttributes(root) {
  const sent = takeSent("steer");
  let base = null;
  let vectors = [];
  const picker = melodyPicker({ label: "melody", id: "steer-start", start: sent ? null : "random", onPick: (m) => setBase(m) });
  const attribute = el("select", { id: "steer-attribute" });
  const amount = slider({ label: "amount", min: -3, max: 3, step: 0.1, value: 0, id: "steer-amount",
    format: (v) => (v > 0 ? "+" : "") + Number(v).toFixed(1), onInput: () => apply() });
  const temperature = temperatureSlider(0, "steer-temperature");
  const sweep = el("button", { id: "steer-sweep" }, `sweep ${SWEEP[0]} … +${SWEEP[SWEEP.length - 1]}`);
  const table = el("table", { id: "steer-table" });
  const result = el("div", { id: "steer-result", class: "cards" });
  const sweepRow = el("div", { id: "steer-sweep-result", class: "cards" });
  let card = null;

  const current = () => vectors.find((v) => v.name === attribute.value);
  const valueText = (melody) => {
    const v = current();
    return v ? `${melody.attributes[v.name].toFixed(2)} ${v.unit}` : "";
  };

  const apply = latestOnly(async () => {
    if (!base || !attribute.value) return;
    await busy(null, async () => {
      const a = Number(amount.input.value);
      const { melodies } = await post("/api/attributes/apply", {
        z: base.z, attribute: attribute.value, amounts: [a], temperature: Number(temperature.input.value),
      });
      const title = `${a >= 0 ? "+" : ""}${a.toFixed(1)} × ${current().label} → ${valueText(melodies[0])}`;
      if (!card) {
        card = melodyCard(melodies[0], { title, actions: ["play", "midi", "mix"] });
        result.replaceChildren(card);
      } else {
        card.update(melodies[0], title);
      }
    });
  });

  function setBase(melody) {
    if (!melody.z) {
      showMessage("this melody has no latent code to start from");
      return;
    }
    base = melody;
    apply();
  }
  async function loadVectors() {
    const info = await get("/api/attributes");
    vectors = info.attributes;
    attribute.replaceChildren(...vectors.map((v) => el("option", { value: v.name, disabled: !v.usable }, v.label)));
    table.replaceChildren(
      el("caption", {}, `Attribute vectors over ${info.basis === "data" ? "the data windows" : "prior samples (start with --data for the data's)"}`),
      el("tr", {}, ["attribute", "bottom quartile", "top quartile", "|vector|"].map((h) => el("th", {}, h))),
      ...vectors.map((v) => el("tr", {}, el("td", {}, `${v.label} (${v.unit})`),
        el("td", {}, v.low_mean.toFixed(2)), el("td", {}, v.high_mean.toFixed(2)),
        el("td", {}, v.usable ? v.norm.toFixed(2) : "— (does not vary)"))));
    apply();
  }

  attribute.addEventListener("change", () => apply());
  temperature.input.addEventListener("change", () => apply());
  sweep.addEventListener("click", () => busy(sweep, async () => {
    if (!base) return;
    const { melodies } = await post("/api/attributes/apply", {
      z: base.z, attribute: attribute.value, amounts: SWEEP, temperature: Number(temperature.input.value),
    });
    sweepRow.replaceChildren(...cardRow(melodies, SWEEP.map((a, i) => `${a > 0 ? "+" : ""}${a} · ${valueText(melodies[i])}`)));
  }));

  root.append(
    el("p", { class: "intro" }, "An attribute vector is the mean latent code of the melodies high in an " +
      "attribute (the top quartile) minus that of those low in it (the bottom quartile). Adding it to a " +
      "melody's code moves the melody along the attribute, as in Magenta's MusicVAE."),
    el("div", { class: "mix-layout" },
      el("div", {}, picker, table),
      el("div", {},
        el("div", { class: "controls" }, el("label", {}, "attribute ", attribute), amount, temperature, sweep),
        result, el("h3", {}, "sweep"), sweepRow)));
  receiveMelodies("steer", picker, sent, setBase);
  busy(null, loadVectors);
}
