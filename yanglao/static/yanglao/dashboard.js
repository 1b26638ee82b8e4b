// Bar chart of the dashboard's figures per child region (data from the json_script block).
(function () {
  var holder = document.getElementById("chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(holder);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 48, right: 16, bottom: 72, top: 36 },
    xAxis: { type: "category", data: data.names, axisLabel: { rotate: 40, interval: 0 } },
    yAxis: { type: "value" },
    series: data.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
