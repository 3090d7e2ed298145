
/* publish: progressive enhancement of the HTML edition; the page works without it. */
(function () {
  "use strict";
  var root = document.documentElement, tip = document.getElementById("term-tip"), current = null;
  /* Terms: their glossary entry (term, Chinese, pinyin, definition) in one popover,
     on hover and on keyboard focus; Escape or leaving the term closes it. */
  function entry(a) {
    var id = (a.getAttribute("href") || "").slice(1);
    return [document.getElementById(id), document.getElementById(id + "-def")];
  }
  function show(a) {
    var e = entry(a);
    if (!tip || !tip.showPopover || !e[0] || !e[1]) return;
    current = a;
    var head = e[0].cloneNode(true), body = e[1].querySelector(".definition").cloneNode(true);
    [head, body].forEach(function (n) { n.removeAttribute("id"); n.querySelectorAll("[id]").forEach(function (c) { c.removeAttribute("id"); }); });
    var p = document.createElement("p"); p.className = "tip-term"; p.append.apply(p, head.childNodes);
    tip.replaceChildren(p, body);
    if (!tip.matches(":popover-open")) tip.showPopover();
    var r = a.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(8, Math.min(r.left, innerWidth - w - 8)) + "px";
    tip.style.top = (r.bottom + h + 8 < innerHeight ? r.bottom + 6 : Math.max(8, r.top - h - 6)) + "px";
  }
  function hide() { current = null; if (tip && tip.matches(":popover-open")) tip.hidePopover(); }
  function term(ev) { return ev.target.closest && ev.target.closest("a.term"); }
  document.addEventListener("mouseover", function (ev) { var a = term(ev); if (a) show(a); });
  document.addEventListener("mouseout", function (ev) { if (term(ev)) hide(); });
  document.addEventListener("focusin", function (ev) { var a = term(ev); a ? show(a) : hide(); });
  document.addEventListener("focusout", function (ev) { if (term(ev)) hide(); });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") hide(); });
  addEventListener("scroll", function () { if (current) show(current); }, { passive: true });
  /* Notes: on wide screens, each in the margin beside its call, never overlapping. */
  var wide = matchMedia("screen and (min-width: 60em)");
  function place() {
    root.classList.toggle("sidenotes", wide.matches);
    var last = -Infinity;
    document.querySelectorAll(".notes > aside").forEach(function (n) {
      n.style.top = "";
      if (!wide.matches) return;
      var back = n.querySelector('a[role="doc-backlink"]');
      var call = back && document.getElementById(back.getAttribute("href").slice(1));
      if (!call) return;
      var y = Math.max(call.getBoundingClientRect().top, last + 12);
      n.style.top = (y - n.offsetParent.getBoundingClientRect().top) + "px";
      last = y + n.offsetHeight;
    });
  }
  place();
  wide.addEventListener("change", place);
  addEventListener("resize", place);
  addEventListener("load", place);
  if (document.fonts) document.fonts.ready.then(place);
})();
