// What the pages share: the model's info (with the token vocabulary), the file list, the tempo.

import { get } from "./api.js";

export const store = {
  info: null, // /api/info
  files: [], // /api/files, plus uploads as they are made
  tempo: 120,
};

const fileListeners = new Set();

/** Load the info and the data folder's file list; call once at start-up. */
export async function loadStore() {
  store.info = await get("/api/info");
  store.files = (await get("/api/files")).files;
}

/** The token vocabulary (from symusic.data.tokens, via /api/info). */
export function vocab() {
  return store.info.vocab;
}

/** Add an uploaded file to the list every melody picker shows. */
export function addFile(file) {
  store.files.push(file);
  for (const listener of fileListeners) listener(file);
}

/** Be told of each file added (pickers refresh their list). */
export function onFileAdded(listener) {
  fileListeners.add(listener);
}

/** Send a melody to another page ("mix" or "steer"): the page's listener takes it. */
export function sendMelody(target, melody, title) {
  document.dispatchEvent(new CustomEvent(`studio:use-${target}`, { detail: { melody, title } }));
  document.dispatchEvent(new CustomEvent("studio:show-page", { detail: target }));
}
