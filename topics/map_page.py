"""The document map's page: the figure of :func:`topics.visualize.document_map`, a find box,
and a script that keeps the topic names on the map from overlapping.

Returned as a string, written by the caller. The script runs in the reader's browser, offline.
It reads only strings that are already HTML-escaped in the figure, turns them back into the
plain text they show without any HTML parser, and writes to the page only through
``textContent`` and Plotly's own attributes: neither a document's text nor the typed text is
ever inserted as HTML.

Find: typing filters nothing out but picks out (Plotly ``selectedpoints``) every document
whose hover text contains the typed text, case-insensitively: its topic's name (and c-TF-IDF
name), its id, its title or the start of its text as shown, and its keywords when the run has them. The others fade, and the page
says how many match. Clearing the box restores the map.

Topic names: annotations come largest topic first. After every draw, zoom, pan or resize the
script shows each name only where its box overlaps no name already shown (trying its centre,
then just above, below, left and right of it, kept inside the plot), so the largest topics are
named at the default zoom and more names appear as the reader zooms in. Each legend entry gets
the topic's full name as a tooltip.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go

from topics import report

FIND_BOX = (
    '<p class="find"><label>Find documents <input id="map-find" type="search" autocomplete="off" spellcheck="false" '
    'placeholder="a word in a title, text or topic name"></label><output id="map-find-count" for="map-find" '
    'aria-live="polite"></output></p>'
)

_SCRIPT = """
(() => {
  const gd = document.getElementById(__DIV_ID__);
  const box = document.getElementById("map-find");
  const count = document.getElementById("map-find-count");
  if (!gd || !box || !count || !window.Plotly) return;
  // The figure's strings were HTML-escaped in Python; this gives back the text they show, as a
  // plain string (no HTML parser involved). Tags are only ever the figure's own <b> and <br>.
  const ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&amp;": "&"};
  const shown = (escaped) => String(escaped == null ? "" : escaped).replace(/<[^>]*>/g, " ")
    .replace(/&(?:lt|gt|quot|#x27|amp);/g, (entity) => ENTITIES[entity]).replace(/\\s+/g, " ").trim();

  let texts = null;
  let total = 0;
  function find() {
    if (!texts) {
      texts = gd.data.map((trace) => (trace.hovertext || []).map((h) => shown(h).toLowerCase()));
      total = texts.reduce((n, t) => n + t.length, 0);
    }
    const query = box.value.replace(/\\s+/g, " ").trim().toLowerCase();
    const traces = gd.data.map((_, i) => i);
    let update;
    if (!query) {
      count.textContent = "";
      update = traces.map(() => null);
    } else {
      update = texts.map((t) => t.reduce((picked, text, i) => { if (text.includes(query)) picked.push(i); return picked; }, []));
      const n = update.reduce((sum, picked) => sum + picked.length, 0);
      count.textContent = `${n.toLocaleString("en")} of ${total.toLocaleString("en")} documents match`;
    }
    Plotly.restyle(gd, {selectedpoints: update}, traces).then(() => { gd.dataset.found = query; });
  }
  let timer = null;
  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 120); });

  // Topic names: each annotation's box against its anchor point, measured once (font and text
  // do not change with zoom); then a greedy placement, largest topic first.
  const PAD = 2;
  let boxes = null;
  const anchor = (a, L) => [L.xaxis._offset + L.xaxis.l2p(a.x), L.yaxis._offset + L.yaxis.l2p(a.y)];
  function measure() {
    const L = gd._fullLayout;
    const origin = gd.querySelector(".main-svg").getBoundingClientRect();
    boxes = (gd.layout.annotations || []).map(() => null);
    gd.querySelectorAll(".annotation").forEach((element) => {
      const i = Number(element.getAttribute("data-index"));
      const a = gd.layout.annotations[i];
      if (!a || a.visible === false || a.xshift || a.yshift) return;
      const r = element.getBoundingClientRect();
      const [px, py] = anchor(a, L);
      boxes[i] = [r.left - origin.left - px, r.top - origin.top - py, r.width, r.height];
    });
  }
  function place() {
    const annotations = gd.layout.annotations || [];
    if (!annotations.length) return;
    if (!boxes) measure();
    const L = gd._fullLayout;
    const left = L.xaxis._offset, right = left + L.xaxis._length, top = L.yaxis._offset, bottom = top + L.yaxis._length;
    const taken = [];
    const update = {};
    annotations.forEach((a, i) => {
      let spot = null;
      const [px, py] = anchor(a, L);
      if (boxes[i] && px >= left && px <= right && py >= top && py <= bottom) {
        const [dx, dy, w, h] = boxes[i];
        for (const [sx, sy] of [[0, 0], [0, -h], [0, h], [-w / 2 - PAD, 0], [w / 2 + PAD, 0]]) {
          const x0 = Math.min(Math.max(px + dx + sx, left), right - w);
          const y0 = py + dy + sy;
          if (y0 < top || y0 + h > bottom) continue;
          const r = [x0 - PAD, y0 - PAD, x0 + w + PAD, y0 + h + PAD];
          if (!taken.some((t) => r[0] < t[2] && t[0] < r[2] && r[1] < t[3] && t[1] < r[3])) {
            spot = r;
            update[`annotations[${i}].xshift`] = x0 - (px + dx);
            update[`annotations[${i}].yshift`] = -sy;
            break;
          }
        }
      }
      if (spot) taken.push(spot);
      update[`annotations[${i}].visible`] = spot !== null;
    });
    Plotly.relayout(gd, update).then(() => { gd.dataset.labelsPlaced = String(Number(gd.dataset.labelsPlaced || 0) + 1); });
  }
  function legendTitles() {
    gd.querySelectorAll(".legend .traces").forEach((item) => {
      const trace = item.__data__ && item.__data__[0] && item.__data__[0].trace;
      if (!trace || !trace.meta) return;
      let title = Array.from(item.children).find((child) => child.tagName.toLowerCase() === "title");
      if (!title) {
        title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        item.prepend(title);
      }
      title.textContent = shown(trace.meta);
    });
  }
  function start() {
    if (!gd._fullLayout || !gd.querySelector(".main-svg")) { setTimeout(start, 50); return; }
    gd.on("plotly_relayout", (event) => {
      // Our own label updates change only annotations; anything else moved the view.
      if (!Object.keys(event || {}).every((key) => key.startsWith("annotations"))) place();
    });
    gd.on("plotly_afterplot", legendTitles);
    legendTitles();
    place();
  }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
"""


def map_page(title: str, figure: go.Figure, div_id: str = "topic_map", note: str = "") -> str:
    """The document map page: ``note`` (plain text), the find box, the figure and its script."""
    body = (f'<p class="note">{report.esc(note)}</p>' if note else "") + FIND_BOX
    script = _SCRIPT.replace("__DIV_ID__", json.dumps(div_id))
    return report.page(title, body, [(div_id, figure)], tail=f"<script>{script}</script>")
