// A melody picker: a file of --data or an upload, a track and a start bar; or a random melody.

import { post, upload } from "./api.js";
import { melodyCard } from "./card.js";
import { addFile, fileDetails, onFileAdded, store } from "./store.js";
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
  let file = null; // /api/files/{id} of the chosen file

  function fillFiles() {
    const keep = files.value;
    files.replaceChildren(option("", store.files.length ? "— choose a file —" : "— no files: upload one —"),
      ...store.files.map((f) => option(f.id, f.name)));
    files.value = keep;
  }
  function fillTracks() {
    tracks.replaceChildren(...(file ? file.tracks.map((t) => option(t.index, `${t.index}: ${t.name}`)) : []));
    fillBars();
  }
  function fillBars() {
    const track = file?.tracks.find((t) => String(t.index) === tracks.value);
    bars.replaceChildren(...(track ? track.start_bars.map((b) => option(b, String(b))) : []));
  }
  function show(melody, title) {
    node.melody = melody;
    node.title = title;
    preview.replaceChildren(melodyCard(melody, { title, actions: ["play", "midi"] }));
    onPick(melody, title);
  }
  async function chooseFile(fileId, barIndex = 0) {
    files.value = fileId;
    file = null;
    fillTracks();
    if (!fileId) return;
    file = await fileDetails(fileId);
    fillTracks();
    const starts = file.tracks[0]?.start_bars || [];
    if (starts.length) bars.value = String(starts[Math.min(barIndex, starts.length - 1)]);
    await load();
  }
  async function load() {
    if (!file || tracks.value === "" || bars.value === "") return;
    const body = { file: file.id, track: Number(tracks.value), bar: Number(bars.value) };
    const melody = await post("/api/window", body);
    show(melody, melody.label);
  }

  files.addEventListener("change", () => busy(files, () => chooseFile(files.value)));
  tracks.addEventListener("change", () => { fillBars(); busy(tracks, load); });
  bars.addEventListener("change", () => busy(bars, load));
  randomButton.addEventListener("click", () => busy(randomButton, async () => {
    const { melodies } = await post("/api/sample", { count: 1, temperature: 0.5 });
    files.value = "";
    file = null;
    fillTracks();
    show(melodies[0], "random melody");
  }));
  fileInput.addEventListener("change", () => busy(uploadButton, async () => {
    const chosen = fileInput.files[0];
    fileInput.value = "";
    if (!chosen) return;
    const entry = await upload("/api/upload", chosen);
    entry.name = `${entry.name} (uploaded)`;
    addFile(entry);
    await chooseFile(entry.id);
  }));
  onFileAdded(fillFiles);

  fillFiles();
  node.ready = (async () => {
    if (start === "random") {
      randomButton.click();
    } else if (start && store.files.length) {
      // the first readable file from the asked-for position on (a corpus may hold bad files)
      for (let i = 0; i < Math.min(8, store.files.length); i += 1) {
        const candidate = store.files[(start.file + i) % store.files.length];
        try {
          await chooseFile(candidate.id, start.bar || 0);
          return;
        } catch {
          // try the next one
        }
      }
      await busy(null, () => chooseFile(""));
    }
  })();
  return node;
}
