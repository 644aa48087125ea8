/** The public page's CSS (light and dark), kept apart so page.ts stays about content. */
export const PAGE_STYLE = `
  :root { --bg: #f6f7f9; --panel: #fff; --border: #e2e5ea; --text: #1c2230; --muted: #667085; --accent: #3d71d9; --code: #f1f3f6; }
  @media (prefers-color-scheme: dark) { :root { --bg: #111217; --panel: #181b1f; --border: #2a2e35; --text: #d8dbe2; --muted: #8e95a3; --accent: #6e9fff; --code: #1e2126; } }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { max-width: 920px; margin: 0 auto; padding: 40px 22px 60px; }
  h1 { font-size: 28px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 0 0 12px; }
  .lead { color: var(--muted); margin: 0 0 26px; }
  .card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 20px 22px; margin-bottom: 18px; }
  .facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px 22px; }
  .fact .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
  .fact .v { font-size: 17px; font-weight: 600; }
  .muted { color: var(--muted); font-weight: 400; } .small { font-size: 12.5px; }
  a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 8px 6px; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  tr:last-child td { border-bottom: none; } .num { text-align: right; white-space: nowrap; }
  code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
  code.hash { word-break: break-all; }
  pre { background: var(--code); border: 1px solid var(--border); border-radius: 6px; padding: 14px 16px; overflow-x: auto; margin: 0; line-height: 1.5; }
  footer { color: var(--muted); font-size: 13px; margin-top: 26px; }
  h3 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); }
  .chart { display: block; max-width: 100%; height: auto; }
  .chart .axis text { fill: var(--muted); font-size: 11px; }
  .chart .grid { stroke: var(--border); }
  .chart .curve { stroke-width: 2; } .chart circle.curve { stroke: none; }
  .c0 { stroke: var(--accent); fill: var(--accent); } .c1 { stroke: #d9822b; fill: #d9822b; } .c2 { stroke: #3a9d5d; fill: #3a9d5d; } .c3 { stroke: #a05cc8; fill: #a05cc8; }
  polyline.curve { fill: none; }
  .legend span { margin-right: 12px; white-space: nowrap; }
  .swatch { display: inline-block; width: 14px; height: 3px; margin: 0 5px 3px 0; vertical-align: middle; background: currentColor; }
  .swatch.c0 { background: var(--accent); } .swatch.c1 { background: #d9822b; } .swatch.c2 { background: #3a9d5d; } .swatch.c3 { background: #a05cc8; }
  .model-card h3 { color: var(--text); font-size: 16px; } .model-card h4 { font-size: 14px; margin: 18px 0 6px; }
  .model-card table { font-size: 13px; } .model-card td code { word-break: break-all; } .model-card ul { padding-left: 20px; }
`;
