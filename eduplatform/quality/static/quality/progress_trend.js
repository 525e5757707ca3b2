// Progress over time: records and quality score per base database, one point per day of the daily
// score job (data from a json_script block; CSP: no inline JS).
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("timeline-data");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  if (data.days.length === 0) { return; }
  function draw(id, key, name) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      grid: { left: 72, right: 24, top: 36, bottom: 48 },
      tooltip: { trigger: "axis" },
      legend: { data: data.series.map(function (s) { return s.name; }) },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", name: name, max: key === "score" ? 100 : null },
      series: data.series.map(function (s) { return { name: s.name, type: "line", data: s[key], connectNulls: true }; }),
      animation: false
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  draw("records-trend", "records", "记录数");
  draw("score-trend", "score", "质量得分");
});
