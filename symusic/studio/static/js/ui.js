// Small DOM helpers shared by the pages: element building, the message banner, busy buttons.

/** Create an element: el("button", {class: "x", onclick: f}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const banner = () => document.getElementById("message");

/** Show a message in the banner at the top of the page ("error" or "info"). */
export function showMessage(text, kind = "error") {
  const node = banner();
  node.className = `message ${kind}`;
  node.querySelector(".text").textContent = text;
  node.hidden = false;
}

/** Hide the banner. */
export function clearMessage() {
  banner().hidden = true;
}

/**
 * Run an async action for a button: the button is disabled meanwhile, the banner cleared
 * first and any error shown in it. Resolves to the action's result, or undefined on error.
 */
export async function busy(button, action) {
  if (button) {
    button.disabled = true;
    button.classList.add("busy");
  }
  try {
    const result = await action();
    clearMessage();
    return result;
  } catch (err) {
    showMessage(err.message || String(err));
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.classList.remove("busy");
    }
  }
}

/** A labelled range input showing its value; onInput(value) on every move. */
export function slider({ label, min, max, step, value, onInput, format = (v) => v, id }) {
  const output = el("output", {}, format(value));
  const input = el("input", { type: "range", min, max, step, value, id });
  input.addEventListener("input", () => {
    output.textContent = format(Number(input.value));
    onInput?.(Number(input.value));
  });
  const node = el("label", { class: "slider" }, el("span", { class: "name" }, label), input, output);
  node.input = input;
  node.set = (v) => {
    input.value = v;
    output.textContent = format(Number(input.value));
  };
  return node;
}

/** The temperature choice used on several pages (0 = argmax). */
export function temperatureSlider(value, id) {
  return slider({
    label: "temperature", min: 0, max: 1.5, step: 0.05, value, id,
    format: (v) => (Number(v) === 0 ? "0 (argmax)" : Number(v).toFixed(2)),
  });
}

/** Call fn with the latest arguments, never two at once: calls made meanwhile collapse to one. */
export function latestOnly(fn) {
  let running = false;
  let pending = null;
  return async function run(...args) {
    if (running) {
      pending = args;
      return;
    }
    running = true;
    try {
      await fn(...args);
    } finally {
      running = false;
      if (pending) {
        const next = pending;
        pending = null;
        run(...next);
      }
    }
  };
}
