// The supply-side map: one clustered layer per facility kind (and the providers), a layer switch, and
// region labels. Tiles only from the configured intranet server; without one, a plain background.
(function () {
  var holder = document.getElementById("supply-map");
  if (!holder || !window.L) return;
  var data = JSON.parse(document.getElementById("map-data").textContent);
  var options = JSON.parse(document.getElementById("map-options").textContent);
  // maxZoom on the map itself: clustering needs it, and without a tile layer nothing else sets it.
  var map = L.map(holder, { preferCanvas: true, minZoom: 3, maxZoom: 18 }).setView(data.centre, 10);
  if (options.tiles) {
    L.tileLayer(options.tiles, { attribution: options.attribution || "", maxZoom: 18 }).addTo(map);
  }
  var labels = L.layerGroup(data.labels.map(function (l) {
    return L.marker([l[1], l[2]], {
      interactive: false,
      icon: L.divIcon({ className: "region-label", html: l[0], iconSize: null })
    });
  })).addTo(map);
  var overlays = {};
  var bounds = [];
  data.layers.forEach(function (layer) {
    var group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 45 });
    layer.points.forEach(function (p) {
      var marker = L.marker([p[0], p[1]], {
        title: p[2],
        icon: L.divIcon({ className: "map-dot", html: "<span style=\"background:" + layer.colour + "\"></span>", iconSize: [14, 14] })
      });
      var popup = document.createElement("div");
      var link = document.createElement("a");
      link.href = p[3];
      link.textContent = p[2];
      popup.appendChild(link);
      var kind = document.createElement("div");
      kind.className = "small text-muted";
      kind.textContent = layer.label + (p[4] ? "（" + p[4] + "）" : "");
      popup.appendChild(kind);
      marker.bindPopup(popup);
      group.addLayer(marker);
      bounds.push([p[0], p[1]]);
    });
    group.addTo(map);
    var swatch = "<span class=\"legend-dot\" style=\"background:" + layer.colour + "\"></span> ";
    overlays[swatch + layer.label + " (" + layer.points.length + ")"] = group;
  });
  overlays["区划名称"] = labels;
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);
  if (bounds.length) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
  holder.dataset.ready = "1";
})();
