// A Guangdong map of one share per city (0–100 %): the reporting completeness page (submitted share)
// and the 建库进度 page (progress) use it. Each element marked data-share-map gets a map: its data come
// from the json_script block named by data-source (default "map-data": rows of name, value, code, and
// unit, label, highlight), the outlines from data-geojson; cities without a value stay grey and their
// tooltip says data-empty-label; the highlighted city is outlined; a click drills to data-drill?region=.
// A static file, not inline script (CSP).
document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) { return; }
  document.querySelectorAll("[data-share-map]").forEach(function (el) {
    var source = document.getElementById(el.dataset.source || "map-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var empty = el.dataset.emptyLabel || "—";
    fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (geo) {
      echarts.registerMap("guangdong", geo);
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            var v = p.data && p.data.value !== null && p.data.value !== undefined ? p.data.value + data.unit : empty;
            return p.name + "<br>" + data.label + "：" + v;
          }
        },
        visualMap: {
          min: 0, max: 100, left: 8, bottom: 8, text: ["100%", "0%"], calculable: false,
          inRange: { color: ["#fbe9e7", "#f6c344", "#2fb344"] }
        },
        series: [{
          type: "map", map: "guangdong", roam: false, selectedMode: false,
          itemStyle: { areaColor: "#e9ecef" },
          label: { show: true, fontSize: 10 }, emphasis: { label: { show: true } },
          data: data.rows.filter(function (r) { return r.value !== null; }).map(function (r) {
            var item = { name: r.name, value: r.value, code: r.code };
            if (data.highlight && r.name === data.highlight) { item.itemStyle = { borderColor: "#d63939", borderWidth: 3 }; }
            return item;
          })
        }],
        animation: false
      });
      chart.on("click", function (p) {
        if (p.data && p.data.code) { window.location.href = el.dataset.drill + "?region=" + p.data.code; }
      });
      window.addEventListener("resize", function () { chart.resize(); });
      el.dataset.ready = "yes";
    });
  });
});
