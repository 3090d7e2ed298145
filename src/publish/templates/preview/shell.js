
/* publish preview: reload the page on every build (keeping its scroll position),
   show a failed build's diagnostics over the last good page, show the other formats. */
(function () {
  "use strict";
  var frame = document.getElementById("page"), overlay = document.getElementById("overlay");
  var shown = 0, pending = 0;
  window.__preview = { reloads: [] };
  function now() { return performance.timeOrigin + performance.now(); }
  function load(state) {
    var v = state.version;
    if (!v || v <= shown || v <= pending) return;
    pending = v;
    var old = frame, win = old.contentWindow, y = 0, x = 0, sse = now();
    try { y = win.scrollY; x = win.scrollX; } catch (e) { /* about:blank */ }
    var f = document.createElement("iframe");
    f.title = old.title; f.className = "loading";
    f.addEventListener("load", function () {
      if (pending !== v) { f.remove(); return; }
      var w = f.contentWindow, nav = w.performance.getEntriesByType("navigation")[0];
      w.scrollTo(x, y);
      f.classList.remove("loading"); f.id = "page"; old.remove(); frame = f; shown = v;
      window.__preview.reloads.push({ version: v, sse: sse, shown: now(),
        dcl: w.performance.timeOrigin + (nav ? nav.domContentLoadedEventEnd : 0) });
    }, { once: true });
    f.src = state.page + "?v=" + v;
    old.after(f);
  }
  function problems(state) {
    var list = document.getElementById("problems"), items = state.diagnostics || [];
    list.replaceChildren();
    items.forEach(function (d) {
      var li = document.createElement("li"), where = document.createElement("span");
      where.className = "where"; where.textContent = d.path + ":" + d.line + ":" + d.col;
      li.append(where, ": " + d.severity + ": " + d.message);
      list.append(li);
    });
    overlay.hidden = items.length === 0;
    var s = document.getElementById("page-status");
    s.dataset.state = items.length ? "error" : state.building ? "building" : "ok";
    s.textContent = items.length ? "HTML: " + items.length + " error(s), showing the last good page"
      : state.building ? "HTML: building…"
      : "HTML: built in " + state.seconds.toFixed(2) + " s" +
        (state.warnings.length ? ", " + state.warnings.length + " warning(s)" : "");
    s.title = (state.warnings || []).map(function (d) { return d.path + ":" + d.line + ":" + d.col + ": " + d.message; }).join("\n");
  }
  function formats(state) {
    Object.keys(state.formats || {}).forEach(function (name) {
      var el = document.getElementById("fmt-" + name), st = state.formats[name];
      if (!el) return;
      el.dataset.status = st.status;
      var label = st.href ? document.createElement("a") : document.createElement("span");
      label.className = "name"; label.textContent = name.toUpperCase();
      if (st.href) { label.href = st.href + "?t=" + Date.now(); label.target = "_blank"; label.rel = "noopener"; }
      var status = document.createElement("span");
      status.className = "status"; status.textContent = st.status;
      el.title = st.message || "";
      el.replaceChildren(label, status);
    });
  }
  function apply(ev) {
    var state = JSON.parse(ev.data);
    problems(state); formats(state);
    if (!state.diagnostics.length) load(state);
  }
  var es = new EventSource("/events");
  ["state", "reload", "diagnostics", "formats"].forEach(function (t) { es.addEventListener(t, apply); });
})();
