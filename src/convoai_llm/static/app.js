// convoai-llm playground: plain JS, no dependencies, talks only to the server that served it.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const RATE = 16000; // PCM16 little-endian mono, as the audio route sends it
  const state = { apiKey: "", messages: [], controller: null, audio: null, sources: [] };
  // Counters for tests and curious users (devtools): what the page received and scheduled.
  const pg = (window.__playground = {
    turns: 0, contentDeltas: 0, audioChunks: 0, audioBytes: 0, scheduled: 0, scheduledSeconds: 0,
    audioState: null, lastTurn: null,
  });
  const ragWaiting = (document.querySelector('meta[name="convoai-rag-waiting"]') || {}).content !== "off";

  function headers(json) {
    const h = {};
    if (json) h["Content-Type"] = "application/json";
    if (state.apiKey) h.Authorization = "Bearer " + state.apiKey;
    return h;
  }

  async function errorText(resp) {
    try {
      const body = await resp.json();
      if (body && body.error && body.error.message) return `${resp.status}: ${body.error.message}`;
    } catch (_) { /* not JSON */ }
    return `HTTP ${resp.status}`;
  }

  const endpoint = () => document.querySelector('input[name="endpoint"]:checked').value;
  const shortSource = (s) => String(s || "").split(/[\\/]/).slice(-2).join("/");
  const ms = (v) => (v === null ? "–" : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`);

  // ---- models ----
  async function loadModels() {
    const select = $("model"), status = $("model-status");
    status.textContent = "loading models…";
    try {
      const resp = await fetch("/v1/models", { headers: headers(false) });
      if (!resp.ok) {
        status.textContent = resp.status === 401 ? "This server needs an API key: enter it below." : await errorText(resp);
        return;
      }
      const ids = ((await resp.json()).data || []).map((m) => m.id);
      const keep = select.value;
      select.replaceChildren(...ids.map((id) => new Option(id, id)));
      if (ids.includes(keep)) select.value = keep;
      status.textContent = ids.length ? "" : "no models listed: the server default is used";
    } catch (err) {
      status.textContent = "cannot reach the server: " + err.message;
    }
  }

  // ---- SSE over fetch ----
  async function* sseData(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let m;
      while ((m = /\r?\n\r?\n/.exec(buf))) {
        const block = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, ""));
        if (data.length) yield data.join("\n"); // comment lines (": keep-alive") are skipped
      }
    }
  }

  // ---- audio: schedule PCM16 chunks back to back on one AudioContext ----
  function ensureAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!state.audio) state.audio = { ctx: new Ctx(), next: 0, sources: new Set() };
    if (state.audio.ctx.state === "suspended") state.audio.ctx.resume().catch(() => {});
    pg.audioState = state.audio.ctx.state;
    return state.audio;
  }

  function playPcm(b64, turn) {
    const bin = atob(b64);
    const n = bin.length >> 1;
    const samples = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
      if (v >= 0x8000) v -= 0x10000;
      samples[i] = v / 32768;
    }
    pg.audioChunks++; pg.audioBytes += bin.length; turn.audioChunks++; turn.audioBytes += bin.length;
    const audio = ensureAudio();
    if (!audio || n === 0) return;
    const buffer = audio.ctx.createBuffer(1, n, RATE);
    buffer.copyToChannel(samples, 0);
    const src = audio.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(audio.ctx.destination);
    const earliest = audio.ctx.currentTime + 0.08; // a small jitter buffer before the first chunk
    if (audio.next < earliest) { if (turn.scheduled > 0) turn.underruns++; audio.next = earliest; }
    src.start(audio.next);
    audio.next += buffer.duration;
    audio.sources.add(src);
    src.onended = () => audio.sources.delete(src);
    pg.scheduled++; pg.scheduledSeconds += buffer.duration; pg.audioState = audio.ctx.state;
    turn.scheduled++; turn.seconds += buffer.duration;
  }

  function stopAudio() {
    if (!state.audio) return;
    for (const src of state.audio.sources) { try { src.stop(); } catch (_) { /* already ended */ } }
    state.audio.sources.clear();
    state.audio.next = 0;
  }

  // ---- one turn ----
  function newTurnElement(text, ep) {
    const node = $("turn-template").content.firstElementChild.cloneNode(true);
    node.querySelector(".user .text").textContent = text;
    node.querySelector(".endpoint-tag").textContent = `(${ep})`;
    node.dataset.endpoint = ep;
    $("log").append(node);
    node.scrollIntoView({ block: "end" });
    return node;
  }

  function renderPassages(list, passages) {
    list.replaceChildren(...passages.map((p) => {
      const li = document.createElement("li");
      const head = document.createElement("strong");
      head.textContent = p.title ? `${p.title} — ${shortSource(p.source)}` : shortSource(p.source);
      head.title = p.source;
      const body = document.createElement("span");
      body.className = "passage-text";
      body.textContent = p.text;
      li.append(head, body);
      return li;
    }));
  }

  async function kbSearch(q) {
    const resp = await fetch("/v1/kb/search?" + new URLSearchParams({ q }), { headers: headers(false) });
    if (!resp.ok) throw new Error(await errorText(resp));
    return (await resp.json()).data || [];
  }

  async function showSources(node, question) {
    const box = node.querySelector(".sources");
    box.hidden = false;
    box.open = true;
    try {
      const passages = await kbSearch(question);
      renderPassages(box.querySelector("ol"), passages);
      if (!passages.length) box.querySelector("ol").textContent = "No passage matched: the answer had no sources.";
      state.sources = passages;
    } catch (err) {
      box.querySelector("ol").textContent = "Sources unavailable: " + err.message;
    }
  }

  async function send(text) {
    const ep = endpoint();
    if (ep === "audio") ensureAudio(); // inside the click/submit: browsers allow audio to start
    const node = newTurnElement(text, ep);
    const answerEl = node.querySelector(".answer"), waitingEl = node.querySelector(".waiting");
    const errorEl = node.querySelector(".error"), timingEl = node.querySelector(".timing");
    const audioEl = node.querySelector(".audio-info");
    const turn = { endpoint: ep, ttft: null, ttfa: null, firstAnswer: null, total: null, finish: null,
                   waiting: null, text: "", audioChunks: 0, audioBytes: 0, scheduled: 0, seconds: 0, underruns: 0 };
    pg.lastTurn = turn;
    pg.turns++;
    const system = $("system").value.trim();
    const history = [...state.messages, { role: "user", content: text }];
    const body = { messages: system ? [{ role: "system", content: system }, ...history] : history, stream: true };
    if ($("model").value) body.model = $("model").value;
    const path = { chat: "/v1/chat/completions", rag: "/v1/rag/chat/completions", audio: "/v1/audio/chat/completions" }[ep];
    const controller = (state.controller = new AbortController());
    setBusy(true);
    const t0 = performance.now();
    const since = () => performance.now() - t0;
    const showTiming = () => {
      const parts = [`first token ${ms(turn.ttft)}`];
      if (ep === "rag" && turn.waiting !== null) parts.push(`first answer token ${ms(turn.firstAnswer)}`);
      if (ep === "audio") parts.push(`first audio ${ms(turn.ttfa)}`);
      if (turn.total !== null) parts.push(`total ${ms(turn.total)}`);
      timingEl.textContent = parts.join(" · ");
    };
    let waitingPending = ep === "rag" && ragWaiting;
    try {
      const resp = await fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body), signal: controller.signal });
      if (!resp.ok) throw new Error(await errorText(resp));
      for await (const data of sseData(resp)) {
        if (data === "[DONE]") break;
        let chunk;
        try { chunk = JSON.parse(data); } catch (_) { continue; }
        if (chunk.error) { errorEl.hidden = false; errorEl.textContent = "Error in stream: " + chunk.error.message; continue; }
        const choice = (chunk.choices || [])[0];
        if (!choice) continue; // usage or custom_metadata chunk
        const delta = choice.delta || {};
        if (typeof delta.content === "string" && delta.content) {
          pg.contentDeltas++;
          if (turn.ttft === null) turn.ttft = since();
          if (waitingPending) { // the RAG route's first content chunk is its waiting message
            waitingPending = false;
            turn.waiting = delta.content.trim();
            waitingEl.textContent = turn.waiting;
            waitingEl.hidden = false;
          } else {
            if (turn.firstAnswer === null) turn.firstAnswer = since();
            turn.text += delta.content;
            answerEl.textContent = turn.text;
          }
        }
        if (delta.audio) {
          if (typeof delta.audio.transcript === "string") {
            if (turn.ttft === null) turn.ttft = since();
            const sep = turn.text && !/\s$/.test(turn.text) && !/^\s/.test(delta.audio.transcript) ? " " : "";
            turn.text += sep + delta.audio.transcript;
            answerEl.textContent = turn.text;
          }
          if (typeof delta.audio.data === "string") {
            if (turn.ttfa === null) turn.ttfa = since();
            playPcm(delta.audio.data, turn);
            audioEl.hidden = false;
            audioEl.textContent = `Audio: ${turn.audioChunks} audio chunks, ${turn.seconds.toFixed(2)} s scheduled`;
          }
        }
        if (choice.finish_reason) turn.finish = choice.finish_reason;
        showTiming();
      }
      turn.total = since();
    } catch (err) {
      turn.total = since();
      errorEl.hidden = false;
      errorEl.textContent = err.name === "AbortError" ? "Stopped." : err.message;
    } finally {
      state.controller = null;
      setBusy(false);
      showTiming();
    }
    if (turn.text || turn.finish) {
      state.messages = [...history, { role: "assistant", content: turn.text.trim() }];
    }
    if (ep === "rag" && (turn.text || turn.waiting)) await showSources(node, text);
    turn.done = true;
    node.scrollIntoView({ block: "end" });
  }

  function setBusy(busy) {
    $("send").disabled = busy;
    $("stop").disabled = !busy;
    $("status").textContent = busy ? "streaming…" : "";
  }

  // ---- knowledge base panel ----
  async function listDocs() {
    const list = $("kb-docs"), status = $("kb-status");
    status.textContent = "loading…";
    try {
      const resp = await fetch("/v1/kb/documents", { headers: headers(false) });
      if (!resp.ok) throw new Error(await errorText(resp));
      const docs = (await resp.json()).data || [];
      list.replaceChildren(...docs.map((d) => {
        const li = document.createElement("li");
        li.textContent = `${d.title || shortSource(d.source)} (${shortSource(d.source)}, ${d.chunks} chunks)`;
        li.title = d.source;
        return li;
      }));
      status.textContent = docs.length ? `${docs.length} documents` : "The knowledge base is empty.";
    } catch (err) {
      status.textContent = err.message;
    }
  }

  // ---- wiring ----
  function init() {
    $("composer").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("message").value.trim();
      if (!text || state.controller) return;
      $("message").value = "";
      send(text);
    });
    $("message").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
    });
    $("stop").addEventListener("click", () => { if (state.controller) state.controller.abort(); stopAudio(); });
    $("clear").addEventListener("click", () => {
      if (state.controller) state.controller.abort();
      stopAudio();
      state.messages = [];
      $("log").replaceChildren();
    });
    $("settings").addEventListener("submit", (e) => e.preventDefault());
    $("api-key").addEventListener("change", () => { state.apiKey = $("api-key").value.trim(); loadModels(); listDocs(); });
    $("kb-refresh").addEventListener("click", listDocs);
    $("kb-search").addEventListener("submit", async (e) => {
      e.preventDefault();
      const q = $("kb-query").value.trim();
      if (!q) return;
      $("kb-status").textContent = "searching…";
      try {
        const passages = await kbSearch(q);
        renderPassages($("kb-results"), passages);
        $("kb-status").textContent = passages.length ? `${passages.length} passages` : "No passage matched.";
      } catch (err) {
        $("kb-results").replaceChildren();
        $("kb-status").textContent = err.message;
      }
    });
    loadModels();
    listDocs();
  }
  init();
})();
