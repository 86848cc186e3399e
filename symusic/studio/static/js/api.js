// The studio's JSON API: fetch wrappers that turn a server error into an Error with its message.

export class ApiError extends Error {}

async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(`the studio server cannot be reached (${err.message})`);
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    if (type.includes("json")) {
      const body = await response.json();
      message = body.error || message;
    }
    throw new ApiError(message);
  }
  return type.includes("json") ? response.json() : response.blob();
}

/** GET a JSON endpoint, e.g. get("/api/info"). */
export function get(path) {
  return request(path);
}

/** POST a JSON body; resolves to the JSON answer (or a Blob for files). */
export function post(path, body) {
  return request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** POST a file's bytes as they are (the upload endpoint takes the raw body). */
export function upload(path, file) {
  return request(`${path}?name=${encodeURIComponent(file.name)}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: file,
  });
}
