// The platform's own ECharts build: only what its pages draw — bar, line, map and scatter (schools as
// points on a county map) charts, the components they use and the SVG renderer — instead of the full
// 1 MB dist/echarts.min.js. Exposes the same global `echarts` (init, registerMap) the page scripts use.
// Bundled by esbuild (scripts/vendor-assets.sh) from echarts' own modular entry points.
import * as echarts from "echarts/core";
import { BarChart, LineChart, MapChart, ScatterChart } from "echarts/charts";
import {
  DatasetComponent, GeoComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent,
  VisualMapContinuousComponent,
} from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

echarts.use([
  BarChart, LineChart, MapChart, ScatterChart,
  DatasetComponent, GeoComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent,
  VisualMapContinuousComponent, SVGRenderer,
]);

export const init = echarts.init;
export const registerMap = echarts.registerMap;
export const getInstanceByDom = echarts.getInstanceByDom;
