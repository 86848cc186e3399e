// MIDI downloads: the server writes the file (the data pipeline's writer), the page saves it.

import { post } from "./api.js";
import { store } from "./store.js";

/** Download melodies (token arrays) as one MIDI file, one after another. */
export async function downloadMidi(melodies, filename) {
  const blob = await post("/api/midi", { melodies, tempo: store.tempo, filename });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
