// Stacked bars: elders by effective ability level per child region (data from the json_script block).
(function () {
  var holder = document.getElementById("level-chart");
  var source = document.getElementById("level-chart-data");
  if (!holder || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(holder);
  chart.setOption({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 56, right: 16, bottom: 72, top: 40 },
    xAxis: { type: "category", data: data.regions, axisLabel: { rotate: 40, interval: 0 } },
    yAxis: { type: "value" },
    series: data.series.map(function (s) {
      return { name: s.label, type: "bar", stack: "levels", data: s.data };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
