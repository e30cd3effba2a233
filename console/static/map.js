// The communication map: devices from the site's map endpoint, placed
// where the server laid them out (group boxes on rows, devices on a grid),
// so the browser only draws. A large site draws one line per pair of groups
// and a device's own lines when it is selected. Text goes in with
// textContent only.
"use strict";
(function () {
  var el = document.getElementById("map");
  if (!el || typeof cytoscape !== "function") { return; }
  // Up to this many device-to-device lines are drawn at once.
  var EDGE_LIMIT = 2000;
  // Roles by their display names in the page's language.
  var roleNames = JSON.parse(el.dataset.roles || "{}");
  function roleName(r) {
    return Object.prototype.hasOwnProperty.call(roleNames, r) ? roleNames[r] : r;
  }

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function text(id, value) { document.getElementById(id).textContent = value; }

  function link(id, href) {
    var a = document.getElementById(id);
    if (href) { a.href = href; a.hidden = false; } else { a.hidden = true; }
  }

  function edgeElement(e, i) {
    return {
      group: "edges",
      data: { id: "edge:" + i, source: e.source, target: e.target, label: e.protocol, pairs: e.pairs },
      classes: e["new"] ? "new" : ""
    };
  }

  // One line per pair of groups (and protocol) instead of every device's.
  function groupEdges(data, groupOf) {
    var seen = {}, out = [];
    data.edges.forEach(function (e) {
      var a = groupOf[e.source], b = groupOf[e.target];
      if (a === undefined || b === undefined || a === b) { return; }
      var k = a + "\u0000" + b + "\u0000" + e.protocol;
      var g = seen[k];
      if (!g) {
        g = seen[k] = { group: "edges", data: { id: "gedge:" + out.length, source: "group:" + a,
          target: "group:" + b, label: e.protocol, pairs: 0, grouped: true }, classes: "grouped" };
        out.push(g);
      }
      g.data.pairs += e.pairs;
      if (e["new"]) { g.classes = "grouped new"; }
    });
    return out;
  }

  function elements(data, all) {
    var out = [], groupOf = {};
    data.boxes.forEach(function (b) {
      out.push({ group: "nodes", data: { id: "group:" + b.group, label: b.group, w: b.w, h: b.h },
        position: { x: b.x, y: b.y }, classes: "group", selectable: false });
    });
    data.nodes.forEach(function (n) {
      groupOf[n.id] = n.group;
      out.push({
        group: "nodes",
        data: { id: n.id, label: n.label, product: n.product, roles: n.roles.map(roleName).join(", "), zone: n.group },
        position: { x: n.x, y: n.y },
        classes: n["new"] ? "new" : ""
      });
    });
    if (all) {
      data.edges.forEach(function (e, i) { out.push(edgeElement(e, i)); });
    } else {
      out = out.concat(groupEdges(data, groupOf));
    }
    return out;
  }

  fetch(el.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var all = data.edges.length <= EDGE_LIMIT;
      var byDevice = {};
      if (!all) {
        data.edges.forEach(function (e, i) {
          (byDevice[e.source] = byDevice[e.source] || []).push(i);
          (byDevice[e.target] = byDevice[e.target] || []).push(i);
        });
      }
      var large = data.nodes.length > 500;
      var cy = cytoscape({
        container: el,
        elements: elements(data, all),
        layout: { name: "preset", animate: false, fit: true, padding: 20 },
        pixelRatio: 1,
        hideEdgesOnViewport: large,
        textureOnViewport: large,
        motionBlur: false,
        minZoom: 0.02,
        maxZoom: 3,
        style: [
          { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-valign": "bottom",
            "width": 22, "height": 22, "background-color": "#3b6ea5", "min-zoomed-font-size": 8,
            "z-index": 10, "z-index-compare": "manual" } },
          { selector: "node.group", style: { "background-color": "#eef3f8", "border-color": "#9fb4c8",
            "border-width": 1, "text-valign": "top", "font-size": 14, "shape": "round-rectangle",
            "width": "data(w)", "height": "data(h)", "z-index": 0, "z-index-compare": "manual",
            "min-zoomed-font-size": 2, "events": "no" } },
          { selector: "node.new", style: { "background-color": "#d98200", "border-width": 2, "border-color": "#8a4f00" } },
          { selector: "node:selected", style: { "border-width": 3, "border-color": "#111" } },
          { selector: "edge", style: { "width": 1.2, "line-color": "#8aa0b5", "curve-style": "haystack",
            "label": "data(label)", "font-size": 8, "min-zoomed-font-size": 9, "text-rotation": "autorotate",
            "z-index": 5, "z-index-compare": "manual" } },
          { selector: "edge.grouped", style: { "width": 3, "line-color": "#b9c7d4", "curve-style": "bezier" } },
          { selector: "edge.new", style: { "line-color": "#d98200", "width": 2.5 } },
          { selector: "edge:selected", style: { "line-color": "#111", "width": 3 } }
        ]
      });
      var own = null;
      function drawOwn(node) {
        if (all) { return; }
        if (own) { own.remove(); }
        own = cy.add((byDevice[node.id()] || []).map(function (i) { return edgeElement(data.edges[i], i); }));
      }
      function showDevice(node) {
        drawOwn(node);
        text("map-selected", node.data("label"));
        text("map-group", node.data("zone"));
        text("map-product", node.data("product"));
        text("map-roles", node.data("roles"));
        link("map-link", el.dataset.device + encodeURIComponent(node.id()));
        link("map-pair-link", null);
      }
      function showEdge(edge) {
        var d = edge.data();
        text("map-selected", edge.source().data("label") + " → " + edge.target().data("label"));
        text("map-group", say(el.dataset.pairs, { pairs: d.pairs, protocol: d.label }));
        text("map-product", "");
        text("map-roles", "");
        link("map-link", null);
        link("map-pair-link", d.grouped ? null : el.dataset.pair + "?orig=" + encodeURIComponent(d.source) +
          "&resp=" + encodeURIComponent(d.target));
      }
      cy.on("tap", "node", function (evt) { if (!evt.target.hasClass("group")) { showDevice(evt.target); } });
      cy.on("tap", "edge", function (evt) { showEdge(evt.target); });
      text("map-count", say(all ? el.dataset.count : el.dataset.grouped,
        { devices: data.nodes.length, edges: data.edges.length }));
      // Ready once the first frame is drawn.
      cy.one("render", function () {
        el.dataset.ready = "1";
      });
      window.osectMap = cy;
    })
    .catch(function (e) { text("map-count", say(el.dataset.failed, { error: e.message })); });
})();
