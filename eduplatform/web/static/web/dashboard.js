// Bar chart of schools per child region; the data comes from a json_script block (CSP: no inline JS).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("chart-children");
  var source = document.getElementById("children-data");  // absent on a school's own home page
  if (!el || !source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  if (data.length === 0) { return; }
  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    grid: { left: 48, right: 16, top: 36, bottom: 72 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.map(function (d) { return d.name; }), axisLabel: { rotate: 45, interval: 0 } },
    yAxis: { type: "value", name: "学校数", minInterval: 1 },
    series: [{ type: "bar", data: data.map(function (d) { return d.count; }), itemStyle: { color: "#206bc4" } }],
    animation: false
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
