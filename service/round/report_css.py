"""The report page's inline style sheet: system fonts only (a Chinese-capable stack), nothing
fetched, and print rules so the signed copy paginates cleanly.
"""

CSS = """
:root { --ink: #1a202c; --muted: #4a5568; --line: #cbd5e0; --band: #f7fafc;
  --accent: #2b6cb0; --funded: #dcecfb; --alert: #c53030; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font-size: 14px; line-height: 1.5;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "WenQuanYi Micro Hei", "Hiragino Sans GB", sans-serif; }
header, main { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 3px solid var(--accent); }
h1 { font-size: 26px; margin: 0; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
h2 small, h3 small, th small { color: var(--muted); font-weight: normal; }
.subtitle { color: var(--muted); margin: 4px 0 12px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
  margin: 0 0 12px; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; word-break: break-all; }
nav { display: flex; flex-wrap: wrap; gap: 6px 14px; padding: 10px 0 14px; }
nav a { color: var(--accent); text-decoration: none; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
th { background: #edf2f7; text-align: left; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--band); }
tbody tr.funded { background: var(--funded); }
tbody tr.funded td:first-child { box-shadow: inset 4px 0 0 var(--accent); }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.none { text-align: center; color: var(--muted); }
td.text { min-width: 12em; }
td.short { white-space: nowrap; }
.note, figcaption { color: var(--muted); font-size: 13px; margin: 4px 0; }
.absent, .empty { color: var(--muted); font-style: italic; }
figure { margin: 8px 0 16px; }
img.chart { display: block; max-width: 100%; height: auto; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px;
  align-items: start; }
.pair table { margin-top: 8px; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
#sign-off .sign { display: flex; gap: 12px; align-items: flex-end; margin: 28px 0; }
#sign-off .line { flex: 0 0 320px; border-bottom: 1px solid var(--ink); height: 1.5em; }
main { padding-bottom: 48px; }
@media print {
  body { font-size: 11px; }
  nav { display: none; }
  header, main { max-width: none; padding: 0; }
  figure, tr, .sign { break-inside: avoid; }
  .scroll { overflow: visible; }
}
"""
