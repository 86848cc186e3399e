// A melody card: title, piano roll, attributes, and buttons to play, download and reuse it.

import { drawRoll, isTrio, pitchRange } from "./pianoroll.js";
import { downloadMidi } from "./midi.js";
import { sendMelody } from "./store.js";
import { play } from "./synth.js";
import { busy, el } from "./ui.js";

function fileStem(title) {
  return (title || "melody").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
}

/** A short line of the melody's attributes (from the API's `attributes`). */
export function describe(attributes) {
  if (!attributes) return "";
  const a = attributes;
  return `${a.note_density.toFixed(1)} notes/bar · range ${Math.round(a.pitch_range)} · ` +
    `off-beat ${Math.round(a.syncopation * 100)}%`;
}

/**
 * A card for `melody` ({tokens, z?, attributes?}). Options: title, range (shared pitch range),
 * actions (any of "play", "midi", "mix", "steer"). The card has .melody, .draw(playhead),
 * and .update(melody, title).
 */
export function melodyCard(melody, { title = "", range = null, actions = ["play", "midi", "mix", "steer"] } = {}) {
  const canvas = isTrio() // three lanes: melody, bass, drums
    ? el("canvas", { class: "roll lanes", width: 300, height: 210 })
    : el("canvas", { class: "roll", width: 300, height: 130 });
  const heading = el("h3", { title }, title);
  const meta = el("p", { class: "meta" });
  const card = el("div", { class: "card" }, heading, canvas, meta);
  const buttons = {
    play: () => el("button", { class: "play", title: "play", onclick: () => play([card.melody.tokens], { onStep: (_, s) => card.draw(s) }) }, "▶ play"),
    midi: () => el("button", { class: "midi", title: "download MIDI", onclick: (e) => busy(e.currentTarget, () => downloadMidi([card.melody.tokens], `${fileStem(card.title)}.mid`)) }, "⬇ MIDI"),
    mix: () => el("button", { class: "to-mix", title: "open in the mixer", onclick: () => sendMelody("mix", card.melody, card.title) }, "→ mix"),
    steer: () => el("button", { class: "to-steer", title: "steer with attribute vectors", onclick: () => sendMelody("steer", card.melody, card.title) }, "→ attributes"),
  };
  card.append(el("div", { class: "actions" }, actions.map((a) => buttons[a]())));
  card.range = range;
  card.draw = (playhead = null) => drawRoll(canvas, card.melody.tokens, { range: card.range, playhead });
  card.update = (next, nextTitle = card.title) => {
    card.melody = next;
    card.title = nextTitle;
    heading.textContent = nextTitle;
    heading.title = nextTitle;
    meta.textContent = describe(next.attributes);
    requestAnimationFrame(() => card.draw());
  };
  card.update(melody, title);
  return card;
}

/** Cards for several melodies on one pitch scale, titled by titles[i]. */
export function cardRow(melodies, titles, options = {}) {
  const range = pitchRange(melodies.map((m) => m.tokens));
  return melodies.map((m, i) => melodyCard(m, { ...options, title: titles[i], range }));
}

/** Play cards one after another, the playhead moving through each card in turn. */
export function playCards(cards) {
  return play(cards.map((c) => c.melody.tokens), {
    onStep: (index, step) => cards[index].draw(step),
  });
}

/**
 * Result cards with "play all" and "download" buttons, for a page that shows a row of melodies.
 * Ids are `${prefix}-play-all`, `${prefix}-download` and `${prefix}-results`; the buttons wait
 * until `show(melodies, titles)` fills the row.
 */
export function resultCards(prefix, { playLabel, downloadLabel, fileName }) {
  const playAll = el("button", { id: `${prefix}-play-all`, disabled: true }, playLabel);
  const download = el("button", { id: `${prefix}-download`, disabled: true }, downloadLabel);
  const results = el("div", { id: `${prefix}-results`, class: "cards" });
  let cards = [];
  playAll.addEventListener("click", () => playCards(cards));
  download.addEventListener("click", () => busy(download,
    () => downloadMidi(cards.map((c) => c.melody.tokens), fileName)));
  const show = (melodies, titles) => {
    cards = cardRow(melodies, titles);
    results.replaceChildren(...cards);
    playAll.disabled = download.disabled = false;
  };
  return { playAll, download, results, show };
}

/**
 * Let `page` ("mix" or "steer") take melodies sent from other pages: `sent` (what takeSent gave
 * when the page was built) now, and every later one as it comes. Each is shown in the picker's
 * preview and handed to `use`.
 */
export function receiveMelodies(page, picker, sent, use) {
  const take = ({ melody, title }) => {
    picker.querySelector(".preview").replaceChildren(melodyCard(melody, { title, actions: ["play", "midi"] }));
    use(melody);
  };
  document.addEventListener(`studio:use-${page}`, (e) => take(e.detail));
  if (sent) take(sent);
}
