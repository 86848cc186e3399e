// A melody picker: a file of --data or an upload, a track and a start bar; or a random melody.

import { post, upload } from "./api.js";
import { melodyCard } from "./card.js";
import { addFile, onFileAdded, store } from "./store.js";
import { busy, el } from "./ui.js";

function option(value, text) {
  return el("option", { value }, text);
}

/**
 * A picker titled `label`. onPick(melody, title) is called each time a melody is chosen.
 * `start` picks the initial melody: {file: index into the file list, bar: index into its
 * start bars} or "random" or null (nothing). The node has .melody and .title.
 */
export function melodyPicker({ label, id, onPick = () => {}, start = null }) {
  const files = el("select", { class: "file", "aria-label": `${label}: file` });
  const tracks = el("select", { class: "track", "aria-label": `${label}: track` });
  const bars = el("select", { class: "bar", "aria-label": `${label}: start bar` });
  const fileInput = el("input", { type: "file", accept: ".mid,.midi,audio/midi", class: "upload-input" });
  const uploadButton = el("label", { class: "button upload" }, "upload MIDI…", fileInput);
  const randomButton = el("button", { class: "random" }, "random");
  const preview = el("div", { class: "preview" });
  const node = el("div", { class: "picker", id },
    el("h3", {}, label),
    el("div", { class: "row" }, files, uploadButton, randomButton),
    el("div", { class: "row" }, el("span", { class: "hint" }, "track"), tracks,
      el("span", { class: "hint" }, "bar"), bars),
    preview);
  node.melody = null;
  node.title = "";

  const currentFile = () => store.files.find((f) => f.id === files.value);
  const currentTrack = () => currentFile()?.tracks.find((t) => String(t.index) === tracks.value);

  function fillFiles() {
    const keep = files.value;
    files.replaceChildren(option("", store.files.length ? "— choose a file —" : "— no files: upload one —"),
      ...store.files.map((f) => option(f.id, f.name)));
    files.value = keep;
  }
  function fillTracks() {
    const file = currentFile();
    tracks.replaceChildren(...(file ? file.tracks.map((t) => option(t.index, `${t.index}: ${t.name}`)) : []));
    fillBars();
  }
  function fillBars() {
    const track = currentTrack();
    bars.replaceChildren(...(track ? track.start_bars.map((b) => option(b, String(b))) : []));
  }
  function show(melody, title) {
    node.melody = melody;
    node.title = title;
    preview.replaceChildren(melodyCard(melody, { title, actions: ["play", "midi"] }));
    onPick(melody, title);
  }
  async function load() {
    if (!files.value || tracks.value === "" || bars.value === "") return;
    const body = { file: files.value, track: Number(tracks.value), bar: Number(bars.value) };
    const melody = await post("/api/window", body);
    show(melody, melody.label);
  }
  const loadWith = (control) => busy(control, load);

  files.addEventListener("change", () => { fillTracks(); loadWith(files); });
  tracks.addEventListener("change", () => { fillBars(); loadWith(tracks); });
  bars.addEventListener("change", () => loadWith(bars));
  randomButton.addEventListener("click", () => busy(randomButton, async () => {
    const { melodies } = await post("/api/sample", { count: 1, temperature: 0.5 });
    files.value = "";
    fillTracks();
    show(melodies[0], "random melody");
  }));
  fileInput.addEventListener("change", () => busy(uploadButton, async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    const entry = await upload("/api/upload", file);
    entry.name = `${entry.name} (uploaded)`;
    addFile(entry);
    files.value = entry.id;
    fillTracks();
    await load();
  }));
  onFileAdded(fillFiles);

  fillFiles();
  node.ready = (async () => {
    if (start === "random") {
      randomButton.click();
    } else if (start && store.files.length) {
      const file = store.files[Math.min(start.file, store.files.length - 1)];
      files.value = file.id;
      fillTracks();
      const starts = file.tracks[0]?.start_bars || [];
      if (starts.length) bars.value = String(starts[Math.min(start.bar || 0, starts.length - 1)]);
      await busy(null, load);
    }
  })();
  return node;
}
