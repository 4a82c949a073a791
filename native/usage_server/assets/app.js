// The dashboard of mongoose_usage_server: the overview (/) and a deployment's page
// (/deployments/{client_id}). Everything shown comes from the same origin's /api/*, and is
// put in the page with textContent and createElement only: the data come from the network.
'use strict';

(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const DAY_MS = 86400000;
  const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
  const PRESETS = [7, 30, 90, 365];
  const DEFAULT_DAYS = 30;
  const EMPTY_TEXT = 'no data in this range';
  const STANZA_ORDER = [
    'xmppMessageSent', 'xmppMessageReceived',
    'xmppIqSent', 'xmppIqReceived',
    'xmppPresenceSent', 'xmppPresenceReceived',
  ];
  const SERIES_COLOURS = 8;

  const numberFormat = new Intl.NumberFormat('en-US');
  const compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  const dayTickFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const longDayFormat = new Intl.DateTimeFormat('en-US', {
    weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC',
  });
  const fmt = (n) => numberFormat.format(n);

  // ---- DOM ---------------------------------------------------------------------------

  function setAttrs(node, attrs) {
    if (!attrs) return node;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    return node;
  }

  function appendAll(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function h(tag, attrs, ...children) {
    return appendAll(setAttrs(document.createElement(tag), attrs), children);
  }

  function s(tag, attrs, ...children) {
    return appendAll(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
  }

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  let measureContext = null;
  function textWidth(text, size = 12) {
    if (!measureContext) {
      measureContext = document.createElement('canvas').getContext('2d');
    }
    const family = getComputedStyle(document.body).fontFamily || 'sans-serif';
    measureContext.font = `${size}px ${family}`;
    return measureContext.measureText(text).width;
  }

  function fitText(text, width, size = 12) {
    if (textWidth(text, size) <= width) return text;
    let low = 0;
    let high = text.length;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (textWidth(text.slice(0, mid) + '…', size) <= width) low = mid;
      else high = mid - 1;
    }
    return text.slice(0, low) + '…';
  }

  // ---- Dates (UTC days, as the API counts them) ---------------------------------------

  function parseDay(text) {
    const m = DAY_RE.exec(text || '');
    if (!m) return null;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return dayString(ms) === text ? ms : null;
  }

  function dayString(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function today() {
    return dayString(Date.now());
  }

  function addDays(day, n) {
    return dayString(parseDay(day) + n * DAY_MS);
  }

  function daysOf(from, to) {
    const days = [];
    for (let ms = parseDay(from), end = parseDay(to); ms <= end; ms += DAY_MS) days.push(dayString(ms));
    return days;
  }

  function formatTime(text, withSeconds = false) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return String(text);
    const iso = new Date(ms).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)} UTC`;
  }

  function ago(text) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return '';
    const minutes = Math.round((Date.now() - ms) / 60000);
    if (minutes < 1) return 'just now';
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.round(minutes / 60);
    if (hours < 48) return `${hours} h ago`;
    return `${fmt(Math.round(hours / 24))} days ago`;
  }

  // ---- API -----------------------------------------------------------------------------

  class AuthRequired extends Error {}

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function getJSON(url, signal) {
    let response;
    try {
      response = await fetch(url, { signal, credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, `the server did not answer (${err.message})`);
    }
    if (response.status === 401) throw new AuthRequired('read token required');
    if (!response.ok) {
      let message = `HTTP ${response.status}${response.statusText ? ' ' + response.statusText : ''}`;
      try {
        const body = await response.json();
        if (body && typeof body.error === 'string') message = `${body.error} (HTTP ${response.status})`;
      } catch (_) {
        // The status line says enough.
      }
      throw new ApiError(response.status, message);
    }
    try {
      return await response.json();
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(response.status, 'the answer is not valid JSON');
    }
  }

  function rangeQuery(range, extra) {
    const params = new URLSearchParams({ from: range.from, to: range.to, ...extra });
    return params.toString();
  }

  function showAuth() {
    const auth = $('#auth');
    for (const hide of [$('#content'), $('#range')]) {
      if (hide) hide.hidden = true;
    }
    hideAlert();
    if (auth && auth.hidden) {
      auth.hidden = false;
      const input = $('input[name="token"]', auth);
      if (input) input.focus();
    }
    document.body.dataset.state = 'auth';
  }

  function showAlert(message, title = 'Could not load the data:') {
    const alert = $('#alert');
    alert.replaceChildren(h('strong', { text: title }), ' ', message);
    alert.hidden = false;
  }

  function hideAlert() {
    const alert = $('#alert');
    if (alert) alert.hidden = true;
  }

  // ---- Scales and axes ----------------------------------------------------------------

  // Round tick values from 0 to at least max, about `count` of them.
  function niceTicks(max, count = 5) {
    if (!(max > 0)) return [0, 1];
    const raw = max / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const steps = power >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
    let step = steps.map((m) => m * power).find((candidate) => candidate >= raw);
    step = Math.max(1, step);
    const top = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v));
    return ticks;
  }

  function axisNumber(n) {
    return Math.abs(n) >= 10000 ? compactFormat.format(n) : fmt(n);
  }

  // ---- Chart states ---------------------------------------------------------------------

  const drawn = new Map();
  const resizeObserver = 'ResizeObserver' in window
    ? new ResizeObserver((entries) => {
      for (const entry of entries) {
        const chart = drawn.get(entry.target);
        if (!chart) continue;
        const width = Math.round(entry.contentRect.width);
        if (width > 0 && width !== chart.width) {
          chart.width = width;
          chart.draw();
        }
      }
    })
    : null;

  function chartState(container, state, message) {
    container.dataset.state = state;
    drawn.delete(container);
    if (state === 'loading') {
      container.replaceChildren(h('p', { class: 'placeholder', text: 'Loading…' }));
    } else if (state === 'empty') {
      container.replaceChildren(h('p', { class: 'placeholder empty', text: EMPTY_TEXT }));
    } else if (state === 'error') {
      container.replaceChildren(h('p', { class: 'placeholder chart-error', text: message }));
    }
  }

  function drawInto(container, draw) {
    const chart = { width: Math.round(container.clientWidth), draw: () => draw(container, chart.width || 600) };
    drawn.set(container, chart);
    container.dataset.state = 'ready';
    chart.draw();
    if (resizeObserver) resizeObserver.observe(container);
  }

  // ---- Line chart -----------------------------------------------------------------------
  // series: [{name, values}] with one value per day of `days`; one line each.

  function drawLines(container, width, { name, days, series, unit, legend }) {
    const height = 260;
    const ticks = niceTicks(Math.max(0, ...series.flatMap((line) => line.values)));
    const top = ticks[ticks.length - 1];
    const tickLabels = ticks.map(axisNumber);
    const margin = {
      top: 14, right: 18, bottom: 44,
      left: Math.ceil(Math.max(...tickLabels.map((t) => textWidth(t)))) + 16,
    };
    const plotW = Math.max(40, width - margin.left - margin.right);
    const plotH = height - margin.top - margin.bottom;
    const n = days.length;
    const x = (i) => margin.left + (n === 1 ? plotW / 2 : (i * plotW) / (n - 1));
    const y = (v) => margin.top + plotH - (v / top) * plotH;

    const svg = s('svg', {
      class: 'chart-svg', width, height, viewBox: `0 0 ${width} ${height}`,
      role: 'img', 'aria-label': name,
    });
    if (n > 60 || series.length > 1) svg.classList.add('dense');

    const grid = s('g', { class: 'gridlines' });
    ticks.forEach((v, k) => {
      grid.append(
        s('line', { x1: margin.left, x2: margin.left + plotW, y1: y(v), y2: y(v) }),
        s('text', { x: margin.left - 8, y: y(v), class: 'tick y-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: tickLabels[k] }),
      );
    });
    svg.append(grid);

    const xAxis = s('g', { class: 'x-axis' });
    xAxis.append(s('line', { class: 'axis', x1: margin.left, x2: margin.left + plotW, y1: margin.top + plotH, y2: margin.top + plotH }));
    const slots = Math.max(1, Math.floor(plotW / 84));
    const step = Math.max(1, Math.ceil(n / slots));
    let lastYear = null;
    for (let i = 0; i < n; i += step) {
      const ms = parseDay(days[i]);
      const year = days[i].slice(0, 4);
      const anchor = n === 1 ? 'middle' : i === 0 ? 'start' : i + step >= n && x(i) > margin.left + plotW - 30 ? 'end' : 'middle';
      const label = s('text', { x: x(i), y: margin.top + plotH + 18, class: 'tick x-tick', 'text-anchor': anchor });
      label.append(s('tspan', { x: x(i), text: dayTickFormat.format(ms) }));
      if (year !== lastYear) {
        label.append(s('tspan', { x: x(i), dy: 14, class: 'tick-year', text: year }));
        lastYear = year;
      }
      xAxis.append(s('line', { class: 'tick-mark', x1: x(i), x2: x(i), y1: margin.top + plotH, y2: margin.top + plotH + 4 }), label);
    }
    svg.append(xAxis);

    series.forEach((line, k) => {
      const colour = `series-${k % SERIES_COLOURS}`;
      const group = s('g', { class: `series ${colour}`, 'data-series': line.name });
      const path = line.values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      if (series.length === 1 && n > 1) {
        group.append(s('path', {
          class: 'area',
          d: `${path} L${x(n - 1).toFixed(1)},${y(0)} L${x(0).toFixed(1)},${y(0)} Z`,
        }));
      }
      group.append(s('path', { class: 'line', d: path }));
      line.values.forEach((v, i) => {
        const what = series.length > 1 ? `${line.name}: ` : '';
        group.append(s('circle', {
          class: 'point', cx: x(i), cy: y(v), r: n > 60 || series.length > 1 ? 3 : 3.5,
          'data-series': series.length > 1 ? line.name : null,
          'data-label': days[i], 'data-value': v,
        }, s('title', { text: `${longDayFormat.format(parseDay(days[i]))}\n${what}${fmt(v)} ${unit}` })));
      });
      svg.append(group);
    });

    const children = [svg];
    if (legend) {
      children.unshift(h('ul', { class: 'legend' }, series.map((line, k) => h('li', null,
        h('span', { class: `swatch series-${k % SERIES_COLOURS}`, 'aria-hidden': 'true' }),
        h('span', { class: 'legend-name', text: line.name }),
        h('span', { class: 'legend-total', text: fmt(line.values.reduce((a, b) => a + b, 0)) }),
      ))));
    }
    container.replaceChildren(...children);
  }

  // ---- Horizontal bar chart -------------------------------------------------------------
  // rows: [{label, value}], drawn in the given order.

  function drawBars(container, width, { name, rows, unit }) {
    const rowH = 28;
    const barH = 18;
    const ticks = niceTicks(Math.max(...rows.map((r) => r.value)), width < 420 ? 3 : 5);
    const top = ticks[ticks.length - 1];
    const valueLabels = rows.map((r) => fmt(r.value));
    const valueW = Math.ceil(Math.max(...valueLabels.map((t) => textWidth(t)))) + 10;
    const labelW = Math.min(Math.ceil(Math.max(...rows.map((r) => textWidth(r.display || r.label)))), Math.floor(width * 0.42));
    const margin = { top: 6, right: valueW + 4, bottom: 26, left: labelW + 14 };
    const plotW = Math.max(40, width - margin.left - margin.right);
    const height = margin.top + rows.length * rowH + margin.bottom;
    const x = (v) => margin.left + (v / top) * plotW;
    const plotBottom = margin.top + rows.length * rowH;

    const svg = s('svg', {
      class: 'chart-svg', width, height, viewBox: `0 0 ${width} ${height}`,
      role: 'img', 'aria-label': name,
    });
    const grid = s('g', { class: 'gridlines' });
    for (const v of ticks) {
      grid.append(
        s('line', { x1: x(v), x2: x(v), y1: margin.top, y2: plotBottom }),
        s('text', { x: x(v), y: plotBottom + 16, class: 'tick', 'text-anchor': 'middle', text: axisNumber(v) }),
      );
    }
    svg.append(grid);

    rows.forEach((row, i) => {
      const yMid = margin.top + i * rowH + rowH / 2;
      const text = row.display || row.label;
      const shown = fitText(text, labelW);
      const label = s('text', {
        x: margin.left - 8, y: yMid, class: 'bar-label', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: shown,
      });
      if (shown !== text) label.append(s('title', { text }));
      const barW = Math.max(row.value > 0 ? 2 : 0, x(row.value) - margin.left);
      svg.append(
        label,
        s('rect', {
          class: 'bar', x: margin.left, y: yMid - barH / 2, width: barW, height: barH, rx: 3,
          'data-label': row.label, 'data-value': row.value,
        }, s('title', { text: `${text}: ${fmt(row.value)} ${row.value === 1 ? unit.one : unit.many}` })),
        s('text', {
          x: margin.left + barW + 6, y: yMid, class: 'bar-value', 'dominant-baseline': 'middle', text: valueLabels[i],
        }),
      );
    });
    svg.append(s('line', { class: 'axis', x1: margin.left, x2: margin.left, y1: margin.top, y2: plotBottom }));
    container.replaceChildren(svg);
  }

  // ---- The overview's charts -------------------------------------------------------------

  const DEPLOYMENTS = { one: 'deployment', many: 'deployments' };

  function count(value) {
    const n = Number(value);
    if (typeof value !== 'number' && typeof value !== 'string') throw new ApiError(200, 'unexpected answer: a count is missing');
    if (!Number.isFinite(n)) throw new ApiError(200, 'unexpected answer: a count is not a number');
    return n;
  }

  function byCountThenLabel(a, b) {
    return b.value - a.value || a.label.localeCompare(b.label, 'en', { numeric: true });
  }

  const BAR_CHARTS = {
    versions: { label: (r) => String(r.version ?? 'unknown'), sort: byCountThenLabel },
    modules: {
      label: (r) => (r.backend ? `${r.module} (${r.backend})` : String(r.module)),
      sort: byCountThenLabel,
    },
    cluster_sizes: {
      label: (r) => String(r.nodes),
      display: (label) => `${label} ${label === '1' ? 'node' : 'nodes'}`,
      sort: (a, b) => Number(a.label) - Number(b.label) || a.label.localeCompare(b.label),
    },
    transports: { label: (r) => String(r.transport), sort: byCountThenLabel },
    http_apis: { label: (r) => String(r.api), sort: byCountThenLabel },
  };

  const TITLES = {
    deployments_per_day: 'Deployments per day',
    traffic: 'XMPP traffic',
    versions: 'Versions',
    modules: 'Modules and backends',
    cluster_sizes: 'Cluster sizes',
    transports: 'Transports',
    http_apis: 'HTTP APIs',
  };

  function expectArray(data) {
    if (!Array.isArray(data)) throw new ApiError(200, 'unexpected answer: not a list');
    return data;
  }

  function drawChart(chart, container, data, range) {
    const name = TITLES[chart] || chart;
    const days = daysOf(range.from, range.to);
    if (chart === 'deployments_per_day') {
      const perDay = new Map(expectArray(data).map((r) => [String(r.day), count(r.deployments)]));
      const values = days.map((day) => perDay.get(day) || 0);
      if (!values.some((v) => v > 0)) return chartState(container, 'empty');
      drawInto(container, (c, width) => drawLines(c, width, {
        name, days, series: [{ name: 'deployments', values }], unit: 'deployments', legend: false,
      }));
      return { total: values.reduce((a, b) => a + b, 0) };
    }
    if (chart === 'traffic') {
      const byType = new Map();
      for (const r of expectArray(data)) {
        const type = String(r.stanza_type);
        if (!byType.has(type)) byType.set(type, new Map());
        const perDay = byType.get(type);
        perDay.set(String(r.day), (perDay.get(String(r.day)) || 0) + count(r.increment));
      }
      if (byType.size === 0) return chartState(container, 'empty');
      const rank = (t) => (STANZA_ORDER.includes(t) ? STANZA_ORDER.indexOf(t) : STANZA_ORDER.length);
      const types = Array.from(byType.keys()).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
      const series = types.map((type) => ({ name: type, values: days.map((day) => byType.get(type).get(day) || 0) }));
      drawInto(container, (c, width) => drawLines(c, width, { name, days, series, unit: 'stanzas', legend: true }));
      return { total: series.reduce((sum, line) => sum + line.values.reduce((a, b) => a + b, 0), 0) };
    }
    const spec = BAR_CHARTS[chart];
    const rows = expectArray(data).map((r) => {
      const label = spec.label(r);
      return { label, display: spec.display ? spec.display(label) : null, value: count(r.deployments) };
    }).sort(spec.sort);
    if (rows.length === 0) return chartState(container, 'empty');
    drawInto(container, (c, width) => drawBars(c, width, { name, rows, unit: DEPLOYMENTS }));
    return { rows };
  }

  function exportLinks(chart, range) {
    const base = `/api/charts/${encodeURIComponent(chart)}`;
    return [
      h('span', { class: 'exports-label', text: 'Download' }),
      h('a', { href: `${base}?${rangeQuery(range, { format: 'csv' })}`, 'data-format': 'csv', text: 'CSV' }),
      h('a', { href: `${base}?${rangeQuery(range, { format: 'json' })}`, 'data-format': 'json', text: 'JSON' }),
    ];
  }

  // ---- The overview's range --------------------------------------------------------------

  function defaultRange() {
    const to = today();
    return { from: addDays(to, -(DEFAULT_DAYS - 1)), to };
  }

  function rangeFromLocation() {
    const params = new URLSearchParams(location.search);
    const from = params.get('from');
    const to = params.get('to');
    if (parseDay(from) !== null && parseDay(to) !== null) {
      return parseDay(from) <= parseDay(to) ? { from, to } : { from: to, to: from };
    }
    const fallback = defaultRange();
    if (parseDay(from) !== null && parseDay(from) <= parseDay(fallback.to)) return { from, to: fallback.to };
    if (parseDay(to) !== null) return { from: addDays(to, -(DEFAULT_DAYS - 1)), to };
    return fallback;
  }

  function presetDays(range) {
    if (range.to !== today()) return null;
    const days = (parseDay(range.to) - parseDay(range.from)) / DAY_MS + 1;
    return PRESETS.includes(days) ? days : null;
  }

  function showRange(range) {
    const form = $('#range');
    form.elements.from.value = range.from;
    form.elements.to.value = range.to;
    form.elements.from.max = range.to;
    form.elements.to.min = range.from;
    const preset = presetDays(range);
    for (const button of $$('button[data-days]', form)) {
      button.setAttribute('aria-pressed', String(Number(button.dataset.days) === preset));
    }
    const days = (parseDay(range.to) - parseDay(range.from)) / DAY_MS + 1;
    $('#range-note').textContent =
      `${fmt(days)} ${days === 1 ? 'day' : 'days'}: ${longDayFormat.format(parseDay(range.from))} – ${longDayFormat.format(parseDay(range.to))} (UTC)`;
  }

  // ---- The overview --------------------------------------------------------------------

  let current = null;

  function setStat(name, value) {
    const node = $(`[data-stat="${name}"]`);
    if (node) node.textContent = value === null ? '–' : fmt(value);
  }

  function drawDeployments(list) {
    const wrap = $('#deployments');
    const body = $('tbody', wrap);
    if (list.length === 0) {
      body.replaceChildren(h('tr', null, h('td', { colspan: 5, class: 'placeholder empty', text: EMPTY_TEXT })));
      wrap.dataset.state = 'empty';
      return;
    }
    body.replaceChildren(...list.map((d) => {
      const id = String(d.client_id);
      const last = d.last_report == null ? '' : String(d.last_report);
      return h('tr', { 'data-client-id': id },
        h('td', { class: 'client-id' }, h('a', { href: `/deployments/${encodeURIComponent(id)}`, text: id })),
        h('td', { title: last },
          h('span', { text: last ? formatTime(last) : '—' }),
          last ? h('span', { class: 'muted ago', text: ago(last) }) : null),
        h('td', null, d.version == null ? h('span', { class: 'muted', text: '—' }) : h('span', { class: 'chip', text: String(d.version) })),
        h('td', { class: 'num' }, d.node_count == null ? h('span', { class: 'muted', text: '—' }) : fmt(count(d.node_count))),
        h('td', { class: 'num' }, fmt(count(d.reports ?? 0))),
      );
    }));
    wrap.dataset.state = 'ready';
  }

  async function loadOverview() {
    const range = rangeFromLocation();
    showRange(range);
    if (current) current.abort();
    const controller = new AbortController();
    current = controller;
    const { signal } = controller;
    document.body.dataset.state = 'loading';
    hideAlert();

    const errors = [];
    let auth = false;
    const fail = (err, onError) => {
      if (err.name === 'AbortError' || signal.aborted) return;
      if (err instanceof AuthRequired) {
        auth = true;
        return;
      }
      errors.push(err.message);
      onError(err.message);
    };

    for (const stat of ['deployments', 'reports', 'versions', 'stanzas']) setStat(stat, null);

    const charts = $$('[data-chart]').map(async (container) => {
      const chart = container.dataset.chart;
      const exports = $(`[data-exports="${chart}"]`);
      if (exports) exports.replaceChildren(...exportLinks(chart, range));
      chartState(container, 'loading');
      try {
        const data = await getJSON(`/api/charts/${encodeURIComponent(chart)}?${rangeQuery(range)}`, signal);
        if (signal.aborted) return;
        const summary = drawChart(chart, container, data, range);
        if (chart === 'traffic') setStat('stanzas', summary ? summary.total : 0);
        if (chart === 'versions') setStat('versions', summary ? summary.rows.length : 0);
      } catch (err) {
        fail(err, (message) => chartState(container, 'error', message));
      }
    });

    const table = (async () => {
      const wrap = $('#deployments');
      wrap.dataset.state = 'loading';
      $('tbody', wrap).replaceChildren(h('tr', null, h('td', { colspan: 5, class: 'placeholder', text: 'Loading…' })));
      try {
        const list = expectArray(await getJSON(`/api/deployments?${rangeQuery(range)}`, signal));
        if (signal.aborted) return;
        drawDeployments(list);
        setStat('deployments', list.length);
        setStat('reports', list.reduce((sum, d) => sum + count(d.reports ?? 0), 0));
      } catch (err) {
        fail(err, (message) => {
          wrap.dataset.state = 'error';
          $('tbody', wrap).replaceChildren(h('tr', null, h('td', { colspan: 5, class: 'placeholder chart-error', text: message })));
        });
      }
    })();

    await Promise.all([...charts, table]);
    if (signal.aborted) return;
    if (auth) {
      showAuth();
      return;
    }
    if (errors.length > 0) {
      const distinct = Array.from(new Set(errors));
      const others = distinct.length - 1;
      showAlert(distinct[0] + (others > 0 ? ` (and ${others} other ${others === 1 ? 'error' : 'errors'})` : ''));
      document.body.dataset.state = 'error';
    } else {
      document.body.dataset.state = 'ready';
    }
  }

  function goTo(range) {
    const query = `?${rangeQuery(range)}`;
    if (query !== location.search) history.pushState(null, '', query);
    loadOverview();
  }

  function startOverview() {
    const form = $('#range');
    for (const button of $$('button[data-days]', form)) {
      button.addEventListener('click', () => {
        const to = today();
        goTo({ from: addDays(to, -(Number(button.dataset.days) - 1)), to });
      });
    }
    const onDates = () => {
      const from = form.elements.from.value;
      const to = form.elements.to.value;
      if (parseDay(from) === null || parseDay(to) === null) return;
      if (parseDay(from) > parseDay(to)) {
        $('#range-note').textContent = '“From” must not be after “To”.';
        return;
      }
      goTo({ from, to });
    };
    form.elements.from.addEventListener('change', onDates);
    form.elements.to.addEventListener('change', onDates);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      onDates();
    });
    window.addEventListener('popstate', loadOverview);
    loadOverview();
  }

  // ---- A deployment's page ----------------------------------------------------------------

  function clientIdFromLocation() {
    const prefix = '/deployments/';
    if (!location.pathname.startsWith(prefix)) return null;
    const raw = location.pathname.slice(prefix.length);
    if (raw === '') return null;
    try {
      return decodeURIComponent(raw);
    } catch (_) {
      return null;
    }
  }

  function paramValue(value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  }

  function eventsTable(events) {
    const rows = events.map((event, i) => {
      const params = event && typeof event.params === 'object' && event.params !== null ? Object.entries(event.params) : [];
      const name = String(event && event.name !== undefined ? event.name : '');
      const paramsCell = params.length === 0
        ? h('span', { class: 'muted', text: 'no parameters' })
        : h('table', { class: 'params' }, h('tbody', null, params.map(([key, value]) => h('tr', { 'data-param': key },
          h('th', { scope: 'row', text: key }),
          h('td', { class: 'eq', text: '=' }),
          h('td', { class: 'value', text: paramValue(value) }),
        ))));
      return h('tr', { 'data-event': name },
        h('td', { class: 'num muted', text: String(i + 1) }),
        h('th', { scope: 'row', class: 'event-name', text: name }),
        h('td', null, paramsCell));
    });
    return h('table', { class: 'data events' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'num', text: '#' }),
        h('th', { scope: 'col', text: 'Event' }),
        h('th', { scope: 'col', text: 'Parameters' }))),
      h('tbody', null, rows));
  }

  function clusterFacts(report) {
    const events = Array.isArray(report.events) ? report.events : [];
    const cluster = events.find((e) => e && e.name === 'cluster' && e.params);
    return cluster ? cluster.params : {};
  }

  async function loadDeployment() {
    const id = clientIdFromLocation();
    const reportsNode = $('#reports');
    document.body.dataset.state = 'loading';
    if (id === null) {
      reportsNode.dataset.state = 'error';
      $('#client-id').textContent = 'Unknown deployment';
      showAlert('this address names no client ID.', 'No such deployment:');
      document.body.dataset.state = 'error';
      return;
    }
    $('#client-id').textContent = id;
    document.title = `${id} · MongooseIM usage`;
    const page = new URLSearchParams(location.search);
    const limit = /^[1-9][0-9]{0,5}$/.test(page.get('limit') || '') ? Number(page.get('limit')) : null;
    const api = `/api/deployments/${encodeURIComponent(id)}${limit ? `?limit=${limit}` : ''}`;
    $('#raw-json').href = api;
    reportsNode.replaceChildren(h('p', { class: 'placeholder', text: 'Loading…' }));
    $('.report-actions').hidden = true;

    let data;
    try {
      data = await getJSON(api);
    } catch (err) {
      if (err instanceof AuthRequired) {
        showAuth();
        return;
      }
      reportsNode.dataset.state = 'error';
      reportsNode.replaceChildren();
      if (err.status === 404) showAlert('this server keeps no report from this client ID.', 'No such deployment:');
      else showAlert(err.message);
      document.body.dataset.state = 'error';
      return;
    }

    const reports = (Array.isArray(data && data.reports) ? data.reports : [])
      .map((report, i) => ({ report, i, ms: Date.parse(report && report.received_at) }))
      .sort((a, b) => (Number.isNaN(b.ms) ? -Infinity : b.ms) - (Number.isNaN(a.ms) ? -Infinity : a.ms) || a.i - b.i)
      .map((entry) => entry.report);

    const facts = $('#facts');
    const newest = reports[0];
    const cluster = newest ? clusterFacts(newest) : {};
    const streams = Array.from(new Set(reports.map((r) => String(r.stream))));
    const fact = (term, value) => h('div', null, h('dt', { text: term }), h('dd', { text: value }));
    facts.replaceChildren(
      fact('Reports shown', fmt(reports.length)),
      fact('Newest', newest ? formatTime(newest.received_at) : '—'),
      fact('Oldest shown', newest ? formatTime(reports[reports.length - 1].received_at) : '—'),
      fact('Version', cluster.version !== undefined ? paramValue(cluster.version) : '—'),
      fact('Nodes', cluster.node_number !== undefined ? paramValue(cluster.node_number) : '—'),
      fact(streams.length === 1 ? 'Stream' : 'Streams', streams.join(', ') || '—'),
    );

    $('.report-actions').hidden = false;
    for (const button of [$('#expand-all'), $('#collapse-all')]) button.hidden = reports.length < 2;
    if (reports.length === 0) {
      reportsNode.dataset.state = 'empty';
      reportsNode.replaceChildren(h('p', { class: 'placeholder empty', text: 'no reports kept' }));
    } else {
      reportsNode.replaceChildren(...reports.map((report, i) => {
        const events = Array.isArray(report.events) ? report.events : [];
        const received = String(report.received_at);
        const details = h('details', { class: 'card report', 'data-report': i, 'data-received': received },
          h('summary', null,
            h('span', { class: 'report-time', text: formatTime(received, true) }),
            h('span', { class: 'muted ago', text: ago(received) }),
            h('span', { class: 'chip', title: 'stream', text: String(report.stream) }),
            h('span', { class: `chip protocol protocol-${String(report.protocol).replace(/[^a-z0-9]/gi, '')}`, text: String(report.protocol).toUpperCase() }),
            h('span', { class: 'report-count', text: `${fmt(events.length)} ${events.length === 1 ? 'event' : 'events'}` })),
          events.length === 0 ? h('p', { class: 'placeholder', text: 'no events' }) : eventsTable(events));
        details.open = i === 0;
        return details;
      }));
      reportsNode.dataset.state = 'ready';
    }

    const more = $('#more');
    if (limit !== null ? reports.length >= limit : reports.length >= 50) {
      const next = new URLSearchParams(location.search);
      next.set('limit', String(Math.min(999999, (limit || 50) * 4)));
      $('#more-link').href = `?${next.toString()}`;
      more.hidden = false;
    } else {
      more.hidden = true;
    }
    document.body.dataset.state = 'ready';
  }

  function startDeployment() {
    $('#expand-all').addEventListener('click', () => $$('details.report').forEach((d) => { d.open = true; }));
    $('#collapse-all').addEventListener('click', () => $$('details.report').forEach((d) => { d.open = false; }));
    loadDeployment();
  }

  function start() {
    const page = document.body.dataset.page;
    if (page === 'overview') startOverview();
    else if (page === 'deployment') startDeployment();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
