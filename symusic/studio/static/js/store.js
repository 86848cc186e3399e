// What the pages share: the model's info (with the token vocabulary), the file list, the tempo.

import { get } from "./api.js";

export const store = {
  info: null, // /api/info
  files: [], // /api/files ({id, name}), plus uploads as they are made
  tempo: 120,
};

const details = new Map(); // file id -> promise of /api/files/{id}: its tracks and start bars

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

/** A file's melody tracks with their start bars (read by the server on first ask). */
export function fileDetails(id) {
  if (!details.has(id)) {
    const request = get(`/api/files/${encodeURIComponent(id)}`);
    request.catch(() => details.delete(id)); // ask again next time
    details.set(id, request);
  }
  return details.get(id);
}

/** Add an uploaded file (with its tracks) to the list every melody picker shows. */
export function addFile(file) {
  details.set(file.id, Promise.resolve(file));
  store.files.push({ id: file.id, name: file.name });
  for (const listener of fileListeners) listener(file);
}

/** Be told of each file added (pickers refresh their list). */
export function onFileAdded(listener) {
  fileListeners.add(listener);
}

const pending = new Map(); // page -> {melody, title} sent before the page was built

/**
 * Send a melody to another page ("mix" or "steer") and show that page. A page already built
 * takes it from its `studio:use-<page>` listener; one built now takes it with takeSent().
 */
export function sendMelody(target, melody, title) {
  pending.set(target, { melody, title });
  document.dispatchEvent(new CustomEvent("studio:show-page", { detail: target }));
  const sent = pending.get(target);
  if (sent) {
    pending.delete(target);
    document.dispatchEvent(new CustomEvent(`studio:use-${target}`, { detail: sent }));
  }
}

/** The melody sent to `target` before it was built (once), or undefined. */
export function takeSent(target) {
  const sent = pending.get(target);
  pending.delete(target);
  return sent;
}
