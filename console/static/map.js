// The communication map: devices from the site's map endpoint, grouped in
// boxes (zone, VLAN or subnet), laid out on a grid (no force layout, so
// thousands of devices draw at once). Text goes in with textContent only.
"use strict";
(function () {
  var el = document.getElementById("map");
  if (!el || typeof cytoscape !== "function") { return; }
  var CELL_X = 110, CELL_Y = 70, GAP = 140;

  function layout(data) {
    var members = {};
    data.groups.forEach(function (g) { members[g] = []; });
    data.nodes.forEach(function (n) { (members[n.group] = members[n.group] || []).push(n); });
    var perRow = Math.max(1, Math.ceil(Math.sqrt(data.groups.length)));
    var x0 = 0, y0 = 0, rowHeight = 0, elements = [];
    data.groups.forEach(function (g, i) {
      var ns = members[g] || [];
      var cols = Math.max(1, Math.ceil(Math.sqrt(ns.length)));
      elements.push({ group: "nodes", data: { id: "group:" + g, label: g }, classes: "group" });
      ns.forEach(function (n, j) {
        elements.push({
          group: "nodes",
          data: { id: n.id, label: n.label, parent: "group:" + g, roles: n.roles.join(", "), zone: g },
          position: { x: x0 + (j % cols) * CELL_X, y: y0 + Math.floor(j / cols) * CELL_Y },
          classes: n["new"] ? "new" : ""
        });
      });
      var rows = Math.ceil(ns.length / cols);
      rowHeight = Math.max(rowHeight, rows * CELL_Y);
      x0 += cols * CELL_X + GAP;
      if ((i + 1) % perRow === 0) { x0 = 0; y0 += rowHeight + GAP; rowHeight = 0; }
    });
    data.edges.forEach(function (e, i) {
      elements.push({
        group: "edges",
        data: { id: "edge:" + i, source: e.source, target: e.target, label: e.protocol },
        classes: e["new"] ? "new" : ""
      });
    });
    return elements;
  }

  function show(node) {
    document.getElementById("map-selected").textContent = node.data("label");
    document.getElementById("map-group").textContent = node.data("zone");
    document.getElementById("map-roles").textContent = node.data("roles");
    var link = document.getElementById("map-link");
    link.href = el.dataset.device + encodeURIComponent(node.id());
    link.hidden = false;
  }

  fetch(el.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var cy = cytoscape({
        container: el,
        elements: layout(data),
        layout: { name: "preset" },
        hideEdgesOnViewport: data.nodes.length > 500,
        textureOnViewport: data.nodes.length > 500,
        minZoom: 0.05,
        maxZoom: 3,
        style: [
          { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-valign": "bottom",
            "width": 22, "height": 22, "background-color": "#3b6ea5", "min-zoomed-font-size": 6 } },
          { selector: "node.group", style: { "background-color": "#eef3f8", "border-color": "#9fb4c8",
            "border-width": 1, "text-valign": "top", "font-size": 12, "shape": "round-rectangle" } },
          { selector: "node.new", style: { "background-color": "#d98200", "border-width": 2, "border-color": "#8a4f00" } },
          { selector: "node:selected", style: { "border-width": 3, "border-color": "#111" } },
          { selector: "edge", style: { "width": 1.2, "line-color": "#8aa0b5", "curve-style": "haystack",
            "label": "data(label)", "font-size": 8, "min-zoomed-font-size": 9, "text-rotation": "autorotate" } },
          { selector: "edge.new", style: { "line-color": "#d98200", "width": 2.5 } }
        ]
      });
      cy.on("tap", "node", function (evt) { if (!evt.target.hasClass("group")) { show(evt.target); } });
      document.getElementById("map-count").textContent =
        data.nodes.length + " / " + data.edges.length;
      el.dataset.ready = "1";
      window.osectMap = cy;
    })
    .catch(function (e) { document.getElementById("map-count").textContent = "map: " + e.message; });
})();
