// The elder's home on the alarm page: one marker, tiles only from the configured intranet server (without
// one, a plain background with the marker).
(function () {
  "use strict";
  var holder = document.getElementById("elder-map");
  var data = document.getElementById("elder-map-options");
  if (!holder || !data || !window.L) return;
  var options = JSON.parse(data.textContent);
  var map = L.map(holder, { minZoom: 3, maxZoom: 18 }).setView(options.position, 16);
  if (options.tiles) {
    L.tileLayer(options.tiles, { attribution: options.attribution || "", maxZoom: 18 }).addTo(map);
  }
  L.marker(options.position, {
    title: options.label,
    icon: L.divIcon({ className: "home-dot", html: "<span></span>", iconSize: [22, 22] })
  }).addTo(map);
  holder.dataset.ready = "1";
})();
