// The playground page: send the text ~150 ms after the last keystroke, show what comes back.
// Plain JavaScript, no build step; every value is shown with textContent, never as HTML.
"use strict";
(function () {
  const DEBOUNCE_MS = 150;
  const byId = (id) => document.getElementById(id);
  const source = byId("source");
  let timer = null;

  function show(id, text) {
    byId(id).textContent = text || "";
  }

  function showList(id, lines, none) {
    show(id, lines && lines.length ? lines.join("\n") : none);
  }

  function showOutputs(outputs) {
    const box = byId("outputs");
    box.replaceChildren();
    for (const output of outputs) {
      const item = document.createElement("article");
      const title = document.createElement("h4");
      title.textContent = output.where + (output.id === null ? "" : " · " + output.id);
      const product = document.createElement("pre");
      product.className = "product";
      product.textContent = output.product;
      const canonical = document.createElement("details");
      const label = document.createElement("summary");
      label.textContent = "canonical record";
      const body = document.createElement("pre");
      body.textContent = output.canonical;
      canonical.append(label, body);
      item.append(title, product, canonical);
      box.append(item);
    }
    if (!outputs.length) {
      box.textContent = "none";
    }
  }

  function render(result) {
    const diagnostics = byId("diagnostics");
    diagnostics.className = result.compiled ? (result.diagnostics ? "warning" : "ok") : "error";
    show("diagnostics", result.diagnostics || "no problems");
    if (result.saved !== undefined) {
      show("saved", result.saved);
      byId("saved").className = result.saved === "saved" ? "ok" : "error";
    }
    byId("stale").hidden = result.compiled;
    byId("last-good").className = result.compiled ? "" : "stale";
    if (!result.compiled) {
      return;
    }
    show("examples", result.examples);
    show("summary", result.summary);
    byId("stopped").hidden = !result.stopped;
    show("stopped", result.stopped);
    showList("rejected", result.rejected, "none");
    showList("skipped", result.skipped, "none");
    showList("warnings", result.warnings, "none");
    showOutputs(result.outputs);
  }

  // One request at a time: text typed while one is out is sent when it comes back, so the
  // server never works through a queue of texts nobody will see.
  let inFlight = false;
  let again = false;

  async function run() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    show("status", "checking…");
    try {
      const response = await fetch("/api/run", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ source: source.value }),
      });
      const result = await response.json();
      if (!response.ok) {
        show("status", "refused: " + result.error);
        return;
      }
      render(result);
      show("status", "");
    } catch (error) {
      show("status", "no answer: is `siesa map serve` still running?");
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        run();
      }
    }
  }

  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });

  fetch("/api/state")
    .then((response) => response.json())
    .then(function (state) {
      show("file", state.file);
      show("records", state.records);
      show("saved", state.write ? "" : "edits are not saved (start with --write to save them)");
      source.value = state.source;
      document.title = "siesa map serve: " + state.file;
      return run();
    });
})();
