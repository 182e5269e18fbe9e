/**
 * The panel's style sheet, scoped by its shadow root: nothing of it applies
 * outside, and `all: initial` on the host stops the page's inherited styles
 * (fonts, colors, line height) from coming in.
 * @internal
 */
export const inspectorStyles = `
:host {
  all: initial;
  position: fixed;
  inset: 0 0 0 auto;
  z-index: 2147483000;
  pointer-events: none;
}
* { box-sizing: border-box; }
.panel {
  pointer-events: auto;
  width: min(460px, 100vw);
  height: 100vh;
  display: flex;
  flex-direction: column;
  background: #0f172a;
  color: #e2e8f0;
  font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  border-left: 1px solid #334155;
  box-shadow: -8px 0 24px rgb(0 0 0 / 0.25);
}
.panel[hidden] { display: none; }
header {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 8px 10px;
  border-bottom: 1px solid #334155;
  background: #111c33;
}
h2 { font-size: 13px; margin: 0; flex: 1; font-weight: 600; }
h2:focus { outline: none; }
h3 {
  font-size: 11px;
  text-transform: uppercase;
  letter-spacing: 0.06em;
  color: #94a3b8;
  margin: 12px 0 6px;
}
.body { overflow: auto; padding: 0 10px 16px; flex: 1; }
button, select {
  font: inherit;
  color: inherit;
  background: #1e293b;
  border: 1px solid #475569;
  border-radius: 4px;
  padding: 2px 8px;
  cursor: pointer;
}
button:hover, select:hover { border-color: #94a3b8; }
:focus-visible { outline: 2px solid #38bdf8; outline-offset: 1px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
dt { color: #94a3b8; }
dd { margin: 0; overflow-wrap: anywhere; }
ul, ol { list-style: none; margin: 0; padding: 0; }
.tree ul { padding-left: 14px; border-left: 1px dotted #334155; margin-left: 4px; }
summary { cursor: pointer; }
.key { color: #7dd3fc; }
.preview { color: #e2e8f0; }
.muted { color: #94a3b8; }
.badge {
  display: inline-block;
  border-radius: 3px;
  padding: 0 5px;
  font-size: 11px;
  background: #334155;
}
[data-status='synced'] > .badge, .badge[data-value='synced'], .badge[data-value='ready'], .badge[data-value='joined'] { background: #14532d; color: #bbf7d0; }
[data-status='pending'] > .badge, .badge[data-value='pending'], .badge[data-value='syncing'], .badge[data-value='connecting'], .badge[data-value='joining'] { background: #713f12; color: #fde68a; }
[data-status='rejected'] > .badge, .badge[data-value='rejected'], .badge[data-value='offline'], .badge[data-value='refused'] { background: #7f1d1d; color: #fecaca; }
.sync { border: 1px solid #334155; border-radius: 6px; padding: 6px 8px; margin-bottom: 8px; }
.sync > summary { font-weight: 600; }
.sync dl { margin: 4px 0 6px; }
.filters { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin-bottom: 6px; }
.frames li { border-bottom: 1px solid #1e293b; padding: 2px 0; }
.frames pre {
  margin: 4px 0 4px 14px;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  color: #cbd5e1;
  max-height: 240px;
  overflow: auto;
}
.dir-out { color: #fbbf24; }
.dir-in { color: #34d399; }
.problem { color: #fca5a5; }
.events li { padding: 2px 0; border-bottom: 1px solid #1e293b; }
.events .error { color: #fca5a5; }
.events .conflict { color: #fde68a; }
`
