// Students per city of the published year (data from a json_script block; CSP: no inline JS).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("portal-chart");
  var source = document.getElementById("portal-data");
  if (!el || !source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    grid: { left: 64, right: 16, top: 24, bottom: 72 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.cities, axisLabel: { rotate: 45, interval: 0 } },
    yAxis: { type: "value", name: "在校生" },
    series: [{ type: "bar", data: data.students, itemStyle: { color: "#206bc4" } }],
    animation: false
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
