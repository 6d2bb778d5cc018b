// Dataflow dashboard: the one script, served by the app. It only updates the live page in place from the
// server-sent event stream, writing every value as text (textContent, setAttribute), never as markup.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live || typeof EventSource === "undefined") {
    return;
  }

  const base = live.dataset.base || "";
  const session = live.dataset.session || "";
  const stream = new EventSource(live.dataset.stream);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function runCell(id) {
    const cell = el("td");
    if (session) {
      const link = el("a", id, "run");
      link.setAttribute("href", base + "/sessions/" + encodeURIComponent(session) + "/runs/" + encodeURIComponent(id));
      cell.appendChild(link);
    } else {
      cell.textContent = id;
    }
    return cell;
  }

  function renderGates(gates) {
    const body = document.querySelector("#gates tbody");
    if (!body) {
      return;
    }
    const shown = Array.from(body.querySelectorAll("tr")).map(function (row) { return row.dataset.gate; }).join(",");
    const wanted = gates.map(function (gate) { return gate.id; }).join(",");
    if (shown === wanted) {
      return; // Unchanged: leave the forms alone, someone may be typing.
    }
    body.replaceChildren();
    gates.forEach(function (gate) {
      const row = el("tr");
      row.dataset.gate = gate.id;
      row.appendChild(runCell(gate.run));
      row.appendChild(el("td", gate.id, "id"));
      row.appendChild(el("td", gate.node));
      const input = el("td", gate.input);
      if (gate.description) {
        input.appendChild(document.createTextNode(" "));
        input.appendChild(el("q", gate.description));
      }
      row.appendChild(input);
      const cell = el("td");
      const form = el("form");
      form.setAttribute("method", "post");
      form.setAttribute("action", base + "/live/gates/" + encodeURIComponent(gate.id));
      const back = el("input");
      back.setAttribute("type", "hidden");
      back.setAttribute("name", "back");
      back.setAttribute("value", "live");
      const value = el("input");
      value.setAttribute("name", "value");
      value.setAttribute("required", "");
      value.setAttribute("maxlength", "10000");
      value.setAttribute("aria-label", "value for " + gate.id);
      value.setAttribute("placeholder", gate.type);
      const button = el("button", "Answer");
      button.setAttribute("type", "submit");
      form.append(back, value, button);
      cell.appendChild(form);
      row.appendChild(cell);
      body.appendChild(row);
    });
    const empty = document.getElementById("gates-empty");
    if (empty) {
      empty.hidden = gates.length > 0;
    }
  }

  function renderRecent(recent) {
    const body = document.querySelector("#live-recent tbody");
    if (!body) {
      return;
    }
    body.replaceChildren();
    recent.forEach(function (run) {
      const row = el("tr");
      row.appendChild(runCell(run.id));
      row.appendChild(el("td", run.state, "state state-" + run.state.toLowerCase()));
      row.appendChild(el("td", run.duration, "num"));
      row.appendChild(el("td", run.error, "error"));
      body.appendChild(row);
    });
  }

  function renderHistogram(counts) {
    const max = Math.max(1, Math.max.apply(null, counts));
    counts.forEach(function (count, i) {
      const bar = document.getElementById("hist-" + i);
      if (!bar) {
        return;
      }
      const height = 120 * count / max;
      bar.setAttribute("height", height.toFixed(1));
      bar.setAttribute("y", (120 - height).toFixed(1));
      const title = document.getElementById("hist-title-" + i);
      if (title) {
        title.textContent = title.textContent.replace(/: \d+$/, ": " + count);
      }
    });
  }

  stream.addEventListener("snapshot", function (message) {
    const snapshot = JSON.parse(message.data);
    Object.keys(snapshot.counters).forEach(function (id) {
      const node = document.getElementById("live-" + id);
      if (node) {
        node.textContent = snapshot.counters[id];
      }
    });
    const progress = document.getElementById("live-progress");
    if (progress) {
      progress.max = Math.max(1, snapshot.submitted);
      progress.value = snapshot.ended;
    }
    const status = document.getElementById("live-status");
    if (status) {
      status.textContent = snapshot.finished ? "finished" : "running";
      status.className = snapshot.finished ? "state state-done" : "state state-running";
    }
    renderHistogram(snapshot.latencies);
    renderGates(snapshot.gates);
    renderRecent(snapshot.recent);
  });
})();
