// Loads the autopeft dashboard in a real, headless chromium and checks the Pareto chart drew its points.
//
// Usage: node check_dashboard.mjs URL [--min-points N] [--timeout-ms MS] [--screenshots DIR] [--compare A,B]
//
// Streamlit renders on the client, so the check waits for plotly's SVG inside the chart element
// ([data-testid="stPlotlyChart"] .main-svg) and then for at least N marker paths (.scatterlayer
// .point). chromium's own --screenshot does not wait for that and captures grey placeholders.
// Prints one JSON line {"ok", "points", "charts", "title", "hover", "error"} (hover: the label of a hovered point); exits 1 when no chart or
// too few points appeared (a blank page fails). With --screenshots, saves the main views as PNGs
// (--compare: the studies to add to the overlay before the "Compare studies" shot).
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const argv = process.argv.slice(2);
const url = argv[0];
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const minPoints = Number(opt("--min-points", "1"));
const timeout = Number(opt("--timeout-ms", "45000"));
const shots = opt("--screenshots", null);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const CHART = '[data-testid="stPlotlyChart"] .main-svg';
const POINTS = '[data-testid="stPlotlyChart"] .scatterlayer .point';

async function countPoints(page) {
  // points of the first chart (the Pareto front) only
  return page.evaluate(() => {
    const chart = document.querySelector('[data-testid="stPlotlyChart"]');
    return chart ? chart.querySelectorAll(".scatterlayer .point").length : 0;
  });
}

async function showTab(page, label) {
  await page.getByRole("tab", { name: label }).click();
  await page.waitForTimeout(1500);
}

const report = { ok: false, points: 0, charts: 0, title: null, hover: null, error: null, screenshots: [] };
let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url, { waitUntil: "domcontentloaded", timeout });
  await page.waitForSelector(CHART, { timeout });
  await page.waitForFunction(
    ([selector, n]) => {
      const chart = document.querySelector('[data-testid="stPlotlyChart"]');
      return chart && chart.querySelectorAll(".scatterlayer .point").length >= n;
    },
    [POINTS, minPoints],
    { timeout },
  );
  report.points = await countPoints(page);
  report.charts = await page.locator('[data-testid="stPlotlyChart"]').count();
  report.title = await page.locator("h2").first().textContent({ timeout: 5000 }).catch(() => null);
  // hover the last drawn marker of the first chart: plotly shows the trial's hover label
  const marker = page.locator('[data-testid="stPlotlyChart"]').first().locator(".scatterlayer .point").last();
  await marker.hover({ force: true }).catch(() => null);
  report.hover = await page
    .locator('[data-testid="stPlotlyChart"] .hoverlayer .hovertext')
    .first()
    .textContent({ timeout: 5000 })
    .catch(() => null);
  report.ok = report.points >= minPoints;
  if (shots) {
    fs.mkdirSync(shots, { recursive: true });
    const save = async (name) => {
      const file = path.join(shots, name);
      await page.screenshot({ path: file, fullPage: false });
      report.screenshots.push(file);
    };
    await page.waitForTimeout(1000);
    await save("dashboard-pareto.png");
    await showTab(page, "Hypervolume");
    await save("dashboard-hypervolume.png");
    await showTab(page, "Trial detail");
    await save("dashboard-trial-detail.png");
    await showTab(page, "Trials");
    await save("dashboard-trials.png");
    await showTab(page, "Compare studies");
    const picker = page.locator('[data-testid="stMultiSelect"]').last();
    const names = (opt("--compare", "") || "").split(",").filter(Boolean);
    for (const name of names) {
      await picker.click();
      await page.getByRole("option", { name }).click();
      await page.keyboard.press("Escape");
      await page.waitForTimeout(1500);
    }
    await save("dashboard-compare.png");
  }
} catch (err) {
  report.error = String(err && err.message ? err.message : err).split("\n")[0];
} finally {
  if (browser) await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
