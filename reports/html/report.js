// pvmatrix HTML report: draws the report data embedded in #pvm-data.
// Every string from a report (guest output, logs, ids) reaches the page through textContent,
// createTextNode or setAttribute on a fixed attribute name; nothing is parsed as markup.
(function () {
  'use strict';
  // Marks for bench/html_first_paint.py: script start and the first complete render.
  function mark(name) { try { performance.mark(name); } catch (err) { /* no User Timing */ } }
  mark('pvm-script-start');

  var GROUP_LETTER = { cpu: 'C', irq: 'I', mmu: 'M', timer: 'T', lazy: 'L' };
  var STAGES = ['boot', 'rom', 'bind', 'cpu', 'irq', 'mmu', 'timer', 'shutdown'];
  var VERDICTS = ['REGRESSION', 'BINDING_LOST', 'FIXED', 'STILL_FAILING', 'BINDING_CHANGED', 'NEW', 'GONE', 'ERROR', 'UNCHANGED'];
  // Which op group a ROM feature serves; used to tell what a release depends on.
  var FEATURE_GROUP = {
    timer: 'timer', periodic_alarm: 'timer', oneshot_alarm: 'timer', wallclock: 'timer',
    mmu: 'mmu', lazy_mmu: 'lazy', lazy_defers: 'lazy', get_features: 'cpu'
  };

  // ---- DOM helpers: the only way this script makes elements. ----
  function h(tag, props, children) {
    var e = document.createElement(tag);
    setProps(e, props);
    add(e, children);
    return e;
  }
  var SVGNS = 'http://www.w3.org/2000/svg';
  function s(tag, props, children) {
    var e = document.createElementNS(SVGNS, tag);
    setProps(e, props);
    add(e, children);
    return e;
  }
  function setProps(e, props) {
    if (!props) return;
    Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'class') e.setAttribute('class', v);
      else if (k === 'text') e.textContent = str(v);
      else if (k === 'on') Object.keys(v).forEach(function (ev) { e.addEventListener(ev, v[ev]); });
      else e.setAttribute(k, v === true ? '' : String(v));
    });
  }
  function add(e, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(e, x); }); return; }
    e.appendChild(c instanceof Node ? c : document.createTextNode(str(c)));
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function str(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    try { return JSON.stringify(v); } catch (err) { return String(v); }
  }
  function byId(id) { return document.getElementById(id); }

  // ---- Data ----
  var DATA = {};
  try { DATA = JSON.parse(byId('pvm-data').textContent) || {}; } catch (err) { DATA = { error: String(err) }; }
  var R = DATA.report && typeof DATA.report === 'object' ? DATA.report : {};
  // The domain tables come from the C++ side with the data (cell.h kStatuses, pvrom/calls.h).
  var GROUPS = Array.isArray(DATA.groups) ? DATA.groups.map(str) : [];
  var STATUSES = [], WORKS = {}, BROKEN = {};
  (Array.isArray(DATA.statuses) ? DATA.statuses : []).forEach(function (st) {
    if (!st || typeof st !== 'object') return;
    var n = str(st.name);
    STATUSES.push(n);
    if (st.works) WORKS[n] = 1;
    if (st.broken) BROKEN[n] = 1;
  });
  var CALLS = (Array.isArray(DATA.calls) ? DATA.calls : []).filter(function (c) { return c && typeof c === 'object'; });
  // A ROM call's name under an API major (67 is GetCycleCounter on API 3, GetNsSinceInit on 4);
  // without the major, the name the number has under every API, if it has only one.
  function callName(number, apiMajor) {
    var names = {};
    CALLS.forEach(function (c) {
      if (c.number !== number) return;
      if (apiMajor === null || (apiMajor >= c.first_api && apiMajor <= c.last_api)) names[str(c.name)] = 1;
    });
    var list = Object.keys(names);
    return list.length === 1 ? list[0] : '';
  }
  function apiMajorOf(api) {
    var m = /^(\d+)\./.exec(str(api));
    return m ? parseInt(m[1], 10) : null;
  }
  var V = DATA.verdicts && typeof DATA.verdicts === 'object' ? DATA.verdicts : null;
  var BASE = DATA.baseline && typeof DATA.baseline === 'object' ? DATA.baseline : null;
  var CELLS = (Array.isArray(R.cells) ? R.cells : []).filter(function (c) { return c && typeof c === 'object'; });
  CELLS.forEach(function (c) {
    c.id = str(c.id); c.kernel = str(c.kernel); c.hv = str(c.hv);
    c.config = str(c.config) || 'default'; c.status = str(c.status).toUpperCase();
  });
  // Cells only the baseline has (verdict GONE) keep their place in the grid.
  if (V) Object.keys(V).forEach(function (id) {
    var v = V[id];
    if (v && v.verdict === 'GONE') {
      CELLS.push({ id: id, kernel: str(v.kernel), hv: str(v.hv), config: str(v.config) || 'default',
                   status: 'GONE', gone: true, reason: 'only in the baseline (was ' + str(v.base_status) + ')' });
    }
  });
  var BY_ID = {};
  CELLS.forEach(function (c) { BY_ID[c.id] = c; });

  function axis(fromAxes, key) {
    var out = [], seen = {};
    (Array.isArray(fromAxes) ? fromAxes : []).forEach(function (x) {
      var name = x && typeof x === 'object' ? str(x.name) : str(x);
      if (name && !seen[name]) { seen[name] = 1; out.push(name); }
    });
    var extra = [];
    CELLS.forEach(function (c) { if (!seen[c[key]]) { seen[c[key]] = 1; extra.push(c[key]); } });
    return out.concat(extra.sort());
  }
  var axes = R.axes && typeof R.axes === 'object' ? R.axes : {};
  var KERNELS = axis(axes.kernels, 'kernel');
  var HVS = axis(axes.hypervisors, 'hv');
  var CONFIGS = axis(axes.configs, 'config');
  var CONFIG_CMDLINE = {};
  (Array.isArray(axes.configs) ? axes.configs : []).forEach(function (x) {
    if (x && typeof x === 'object') CONFIG_CMDLINE[str(x.name)] = str(x.cmdline);
  });
  var INDEX = {};  // config -> kernel -> hv -> cell
  CELLS.forEach(function (c) {
    var k = (INDEX[c.config] = INDEX[c.config] || {});
    (k[c.kernel] = k[c.kernel] || {})[c.hv] = c;
  });
  function at(cfg, kernel, hv) { return ((INDEX[cfg] || {})[kernel] || {})[hv]; }
  function verdictOf(c) { return V && V[c.id] ? str(V[c.id].verdict) : ''; }

  // ---- State, kept in the URL hash ----
  var state = { cfg: CONFIGS[0] || '', status: [], verdict: [], kernel: '', hv: '', q: '', cell: '' };
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ''));
    state.cfg = p.get('cfg') || CONFIGS[0] || '';
    if (state.cfg !== 'all' && CONFIGS.indexOf(state.cfg) < 0) state.cfg = CONFIGS[0] || '';
    state.status = (p.get('status') || '').split(',').filter(Boolean);
    state.verdict = (p.get('verdict') || '').split(',').filter(Boolean);
    state.kernel = p.get('kernel') || '';
    state.hv = p.get('hv') || '';
    state.q = p.get('q') || '';
    state.cell = p.get('cell') || '';
  }
  function writeHash() {
    var p = new URLSearchParams();
    if (state.cfg && state.cfg !== CONFIGS[0]) p.set('cfg', state.cfg);
    if (state.status.length) p.set('status', state.status.join(','));
    if (state.verdict.length) p.set('verdict', state.verdict.join(','));
    if (state.kernel) p.set('kernel', state.kernel);
    if (state.hv) p.set('hv', state.hv);
    if (state.q) p.set('q', state.q);
    if (state.cell) p.set('cell', state.cell);
    var hash = p.toString();
    try { history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search); }
    catch (err) { location.hash = hash; }
  }
  function matches(c) {
    if (state.status.length && state.status.indexOf(c.status) < 0) return false;
    if (state.verdict.length && state.verdict.indexOf(verdictOf(c)) < 0) return false;
    if (state.kernel && c.kernel !== state.kernel) return false;
    if (state.hv && c.hv !== state.hv) return false;
    if (state.q && c.id.toLowerCase().indexOf(state.q.toLowerCase()) < 0) return false;
    return true;
  }
  function shownConfigs() { return state.cfg === 'all' ? CONFIGS : [state.cfg]; }

  // ---- Header: run metadata and counts ----
  function flatten(obj, prefix, out) {
    Object.keys(obj).forEach(function (k) {
      var v = obj[k], key = prefix ? prefix + '.' + k : k;
      if (v === null || v === undefined || META_HIDDEN[key]) return;
      if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
      else out.push([key, Array.isArray(v) ? v.map(str).join(' ') : str(v)]);
    });
    return out;
  }
  // Known keys first, in the order a reader wants them; anything else after, as written.
  var META_ORDER = ['host', 'hostname', 'qemu_version', 'qemu', 'libvirt_version', 'libvirt', 'git_revision',
                    'git', 'revision', 'dirty', 'matrix', 'matrix_file', 'matrix_digest', 'started_at', 'started',
                    'ended_at', 'finished_at', 'finished', 'duration_ms', 'backend', 'shard', 'merged_from', 'os'];
  // Bookkeeping a reader does not need in the header.
  var META_HIDDEN = { started_at_ms: 1, tool: 1 };
  function metaRank(key) {
    var top = key.split('.')[0], i = META_ORDER.indexOf(top);
    return i < 0 ? META_ORDER.length : i;
  }
  function countBy(list, f) {
    var m = {};
    list.forEach(function (x) { var k = f(x); if (k) m[k] = (m[k] || 0) + 1; });
    return m;
  }

  function renderHeader() {
    var header = byId('run-header');
    clear(header);
    var complete = R.complete !== false;
    header.appendChild(h('h1', null, ['pvmatrix compatibility report',
      h('span', { class: 'completeness ' + (complete ? 'complete' : 'incomplete'),
                  text: complete ? 'complete run' : 'INCOMPLETE run: not every cell was booted' })]));
    var meta = R.meta && typeof R.meta === 'object' ? flatten(R.meta, '', []) : [];
    meta.sort(function (a, b) { return metaRank(a[0]) - metaRank(b[0]); });
    var dl = h('dl', { class: 'meta', id: 'run-meta' });
    meta.forEach(function (kv) { dl.appendChild(h('div', null, [h('dt', { text: kv[0] }), h('dd', { text: kv[1] })])); });
    dl.appendChild(h('div', null, [h('dt', { text: 'cells' }), h('dd', { text: String(CELLS.filter(function (c) { return !c.gone; }).length) })]));
    if (R.schema_version !== undefined) dl.appendChild(h('div', null, [h('dt', { text: 'schema' }), h('dd', { text: str(R.schema) + ' v' + str(R.schema_version) })]));
    // Host pressure: how much of the boots' wall time QEMU waited for a CPU (never counted in a
    // budget: a busy host makes a run slower, not its verdicts different).
    var hp = R.summary && R.summary.host;
    if (hp && typeof hp === 'object' && typeof hp.wall_ms === 'number') {
      var frac = typeof hp.starved_fraction === 'number' ? hp.starved_fraction : 0;
      dl.appendChild(h('div', { id: 'host-pressure', class: frac >= 0.25 ? 'starved' : '' }, [h('dt', { text: 'host pressure' }),
        h('dd', { text: 'QEMU got ' + (hp.qemu_cpu_ms / 1000).toFixed(1) + ' s of CPU in ' + (hp.wall_ms / 1000).toFixed(1) +
          ' s of boots; ' + Math.round(frac * 100) + '% of that waiting for a CPU' + (frac >= 0.25 ? ' (a starved host: slower, same verdicts)' : '') })]));
    }
    header.appendChild(dl);
    if (BASE) {
      var bm = BASE.meta && typeof BASE.meta === 'object' ? flatten(BASE.meta, '', []) : [];
      bm.sort(function (a, b) { return metaRank(a[0]) - metaRank(b[0]); });
      var bdl = h('dl', { class: 'meta', id: 'baseline-meta' }, h('div', null, h('dt', { text: 'baseline:' })));
      bm.slice(0, 6).forEach(function (kv) { bdl.appendChild(h('div', null, [h('dt', { text: kv[0] }), h('dd', { text: kv[1] })])); });
      header.appendChild(bdl);
    }
    if (DATA.error) header.appendChild(h('p', { class: 'regressions', text: 'The embedded report data could not be read: ' + DATA.error }));
  }

  function renderOverview() {
    var box = byId('overview');
    clear(box);
    var real = CELLS.filter(function (c) { return !c.gone; });
    var byStatus = countBy(real, function (c) { return c.status; });
    var counts = h('div', { class: 'counts', id: 'status-counts' });
    STATUSES.concat(Object.keys(byStatus).filter(function (k) { return STATUSES.indexOf(k) < 0; }).sort())
      .forEach(function (st) {
        if (!byStatus[st]) return;
        counts.appendChild(h('button', { class: 'chip st-' + st, 'data-status': st, title: 'Show only ' + st + ' cells',
          on: { click: function () { state.status = [st]; update(); } } }, [st, h('b', { text: String(byStatus[st]) })]));
      });
    box.appendChild(counts);
    // Prediction vs boot (issue 9): each disagreement is a bug in the kernel, a ROM, the
    // manifest or the prediction. Shown only when the run recorded predictions.
    if (Array.isArray(R.findings)) {
      var fbox = h('div', { class: 'findings' + (R.findings.length ? '' : ' none'), id: 'findings' });
      if (!R.findings.length) fbox.appendChild(h('span', { class: 'muted', text: 'Prediction vs boot: every booted cell did what the static prediction said.' }));
      else {
        fbox.appendChild(h('strong', { text: R.findings.length + ' finding' + (R.findings.length > 1 ? 's' : '') + ': prediction and boot disagree' }));
        var ful = h('ul');
        R.findings.forEach(function (f) {
          if (!f || typeof f !== 'object') return;
          ful.appendChild(h('li', null, [
            h('button', { class: 'linkish', text: str(f.id), on: { click: function () { openCell(str(f.id)); } } }),
            ' ' + str(f.kind) + ': predicted ' + str(f.predicted) + ', observed ' + str(f.observed) +
            (f.detail ? ' (' + str(f.detail) + ')' : '')]));
        });
        fbox.appendChild(ful);
      }
      box.appendChild(fbox);
    }
    if (V) {
      var vc = countBy(Object.keys(V).map(function (id) { return V[id]; }), function (v) { return str(v.verdict); });
      var vcounts = h('div', { class: 'counts', id: 'verdict-counts' }, h('span', { class: 'muted', text: 'against the baseline:' }));
      VERDICTS.forEach(function (vd) {
        if (!vc[vd]) return;
        vcounts.appendChild(h('button', { class: 'chip v-' + vd, 'data-verdict': vd,
          on: { click: function () { state.verdict = [vd]; update(); } } }, [vd, h('b', { text: String(vc[vd]) })]));
      });
      box.appendChild(vcounts);
      // What fails the gate: regressions, and cells that silently stopped using the hypervisor.
      var regs = CELLS.filter(function (c) { return verdictOf(c) === 'REGRESSION'; });
      var lost = CELLS.filter(function (c) { return verdictOf(c) === 'BINDING_LOST'; });
      var rbox = h('div', { class: 'regressions' + (regs.length || lost.length ? '' : ' none'), id: 'regression-list' });
      if (!regs.length && !lost.length) rbox.appendChild(h('strong', { text: 'No REGRESSION against the baseline.' }));
      else {
        var heads = [];
        if (regs.length) heads.push(regs.length + ' REGRESSION' + (regs.length > 1 ? 's' : ''));
        if (lost.length) heads.push(lost.length + ' BINDING_LOST (stopped using the hypervisor)');
        rbox.appendChild(h('strong', { text: heads.join(', ') + ' against the baseline' }));
        var ul = h('ul');
        regs.concat(lost).forEach(function (c) {
          var v = V[c.id];
          var what = verdictOf(c) === 'BINDING_LOST'
            ? ': still ' + c.status + ', but runs ' + (Array.isArray(v.lost_groups) ? v.lost_groups.map(str).join(', ') : '') +
              ' native (no pv.native mask asks for it; was ' + (Array.isArray(v.binding_changes) ? v.binding_changes.map(str).join(', ') : '') + ')'
            : ': was ' + str(v.base_status) + ', now ' + c.status + (c.stage ? ' at stage ' + str(c.stage) : '');
          ul.appendChild(h('li', { 'data-verdict': verdictOf(c) }, [
            h('button', { class: 'linkish', text: c.id, on: { click: function () { openCell(c.id); } } }),
            what, verdictOf(c) === 'REGRESSION' && c.reason ? ' (' + str(c.reason) + ')' : '']));
        });
        rbox.appendChild(ul);
      }
      box.appendChild(rbox);
    }
  }

  // ---- Filters ----
  var controls = {};
  function renderFilters() {
    var box = byId('filters');
    clear(box);
    var tabs = h('div', { class: 'config-tabs', role: 'group', 'aria-label': 'config' });
    CONFIGS.concat(CONFIGS.length > 1 ? ['all'] : []).forEach(function (cfg) {
      tabs.appendChild(h('button', { 'data-config': cfg, 'aria-pressed': 'false',
        title: cfg === 'all' ? 'every config, one grid each' : 'cmdline: ' + (CONFIG_CMDLINE[cfg] || '(none)'),
        text: cfg === 'all' ? 'all configs' : cfg, on: { click: function () { state.cfg = cfg; update(); } } }));
    });
    controls.tabs = tabs;
    box.appendChild(h('fieldset', null, [h('legend', { text: 'config' }), tabs]));

    var present = countBy(CELLS, function (c) { return c.status; });
    var stBox = h('fieldset', { id: 'status-filter' }, h('legend', { text: 'status' }));
    controls.status = [];
    STATUSES.concat(['GONE']).forEach(function (st) {
      if (!present[st]) return;
      var cb = h('input', { type: 'checkbox', value: st, on: { change: function () {
        state.status = controls.status.filter(function (x) { return x.checked; }).map(function (x) { return x.value; });
        if (state.status.length === controls.status.length) state.status = [];
        update();
      } } });
      controls.status.push(cb);
      stBox.appendChild(h('label', null, [cb, ' ' + st]));
    });
    box.appendChild(stBox);

    if (V) {
      var vBox = h('fieldset', { id: 'verdict-filter' }, h('legend', { text: 'verdict' }));
      var sel = h('select', { 'aria-label': 'verdict', on: { change: function () {
        state.verdict = sel.value ? [sel.value] : []; update(); } } }, h('option', { value: '', text: 'any' }));
      VERDICTS.forEach(function (vd) { sel.appendChild(h('option', { value: vd, text: vd })); });
      controls.verdict = sel;
      vBox.appendChild(sel);
      box.appendChild(vBox);
    }

    function axisSelect(name, values) {
      var sel = h('select', { id: name + '-filter', 'aria-label': name, on: { change: function () {
        state[name] = sel.value; update(); } } }, h('option', { value: '', text: 'all' }));
      values.forEach(function (v) { sel.appendChild(h('option', { value: v, text: v })); });
      box.appendChild(h('fieldset', null, [h('legend', { text: name === 'hv' ? 'hypervisor' : name }), sel]));
      return sel;
    }
    controls.kernel = axisSelect('kernel', KERNELS);
    controls.hv = axisSelect('hv', HVS);

    var timer = null;
    var q = h('input', { type: 'search', id: 'search', placeholder: 'search cell ids, e.g. 2.6.25/hv=rom-1.1',
      'aria-label': 'search cell ids', on: { input: function () {
        clearTimeout(timer);
        timer = setTimeout(function () { state.q = q.value.trim(); update(); }, 120);
      } } });
    controls.q = q;
    box.appendChild(h('fieldset', null, [h('legend', { text: 'search' }), q]));
    box.appendChild(h('button', { id: 'reset-filters', text: 'reset', on: { click: function () {
      state.status = []; state.verdict = []; state.kernel = ''; state.hv = ''; state.q = ''; update(); } } }));
    controls.count = h('span', { class: 'match-count', id: 'match-count', 'aria-live': 'polite' });
    box.appendChild(controls.count);
  }
  function syncControls() {
    Array.prototype.forEach.call(controls.tabs.children, function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-config') === state.cfg ? 'true' : 'false');
    });
    controls.status.forEach(function (cb) { cb.checked = !state.status.length || state.status.indexOf(cb.value) >= 0; });
    if (controls.verdict) controls.verdict.value = state.verdict[0] || '';
    controls.kernel.value = state.kernel;
    controls.hv.value = state.hv;
    if (document.activeElement !== controls.q) controls.q.value = state.q;
  }

  // ---- The grid ----
  // A group is bound when it goes to the hypervisor: a ROM ("rom") or real Xen ("xen").
  function isBound(v) { return v === 'rom' || v === 'xen'; }
  function bindingLetters(binding) {
    var span = h('span', { class: 'bind' });
    // No binding at all (the kernel never ran, e.g. a hypervisor that refused it): unknown, not native.
    if (!binding || typeof binding !== 'object' || !Object.keys(binding).length) { span.textContent = '—'; return span; }
    GROUPS.forEach(function (g) {
      var v = binding[g];
      span.appendChild(h('span', { class: v === 'xen' ? 'b-rom b-xen' : isBound(v) ? 'b-rom' : 'b-native',
                                   text: isBound(v) ? GROUP_LETTER[g] : GROUP_LETTER[g].toLowerCase() }));
    });
    return span;
  }
  function bindingTitle(binding) {
    if (!binding || typeof binding !== 'object' || !Object.keys(binding).length) return 'binding unknown';
    return GROUPS.map(function (g) { return g + ':' + str(binding[g] || '?'); }).join(' ');
  }
  function firstFailingProbe(c) {
    var probes = Array.isArray(c.probes) ? c.probes : [];
    for (var i = 0; i < probes.length; i++) if (probes[i] && probes[i].status === 'fail') return probes[i];
    return null;
  }
  function whyText(c) {
    if (c.status === 'XFAIL') return str(c.expected_reason) || ('expected ' + str(c.expected));
    if (c.status === 'FLAKY') {
      var a = Array.isArray(c.attempts) ? c.attempts.map(function (x) { return str(x && x.status); }) : [];
      return 'flaky: ' + a.join('→');
    }
    if (WORKS[c.status]) return c.status === 'XPASS' ? 'expected ' + str(c.expected) : '';
    var p = firstFailingProbe(c);
    if (p) return str(p.id) + (p.call !== undefined && p.call !== null ? ' (call ' + str(p.call) + ')' : '');
    return str(c.reason) || (c.stage ? 'stage ' + str(c.stage) : '');
  }
  // A cell's button is built once and reused by every redraw of the grid (filters, configs).
  var BUTTONS = Object.create(null);
  function cellButton(c) {
    var b = BUTTONS[c.id] || (BUTTONS[c.id] = buildCellButton(c));
    b.classList.toggle('selected', state.cell === c.id);
    return b;
  }
  // History (issue 17): the words, and a strip of the cell's last results, oldest first.
  function historyOf(c) { return c.history && typeof c.history === 'object' ? c.history : null; }
  function historyStrip(c, id) {
    var hist = historyOf(c);
    var strip = h('span', { class: 'hstrip', id: id || null, 'aria-label': 'last results' });
    // "41:PASS 42:ERROR 43:FAIL": run:status, oldest first.
    (hist && typeof hist.strip === 'string' ? hist.strip.split(' ') : []).forEach(function (e) {
      var at = e.indexOf(':');
      if (at < 1) return;
      var run = e.slice(0, at), st = e.slice(at + 1);
      strip.appendChild(h('i', { class: 'st-' + st, 'data-run': run, 'data-status': st, title: 'run ' + run + ': ' + st }));
    });
    return strip;
  }
  function buildCellButton(c) {
    var vd = verdictOf(c);
    var cls = 'cell st-' + c.status + (vd ? ' v-' + vd : '');
    var why = whyText(c);
    var title = c.id + '\nstatus: ' + c.status + (vd ? '\nverdict: ' + vd : '') + '\nbinding: ' + bindingTitle(c.binding) +
      (why ? '\n' + why : '') + (historyOf(c) ? '\nhistory: ' + str(historyOf(c).text) : '');
    var b = h('button', { class: cls, 'data-id': c.id, 'data-status': c.status, title: title, type: 'button' });
    b.appendChild(h('span', { class: 'st', text: c.status }));
    if (vd && vd !== 'UNCHANGED') b.appendChild(h('span', { class: 'verdict', text: vd }));
    if (!c.gone) {
      var bind = bindingLetters(c.binding);
      if (c.hv_refused) bind.appendChild(h('span', { class: 'note', text: ' refused' }));
      b.appendChild(bind);
    }
    if (why) b.appendChild(h('span', { class: c.status === 'XFAIL' ? 'note' : 'why', text: why }));
    var attempts = Array.isArray(c.attempts) ? c.attempts.length : 0;
    if (attempts > 1 && c.status !== 'FLAKY') b.appendChild(h('span', { class: 'note', text: attempts + ' attempts' }));
    if (historyOf(c)) {
      b.setAttribute('data-history', str(historyOf(c).kind));
      b.appendChild(historyStrip(c));
    }
    return b;
  }
  function renderGrids() {
    var box = byId('grids');
    var frag = document.createDocumentFragment();
    var kernels = state.kernel ? [state.kernel] : KERNELS;
    var hvs = state.hv ? [state.hv] : HVS;
    var shown = 0, total = 0;
    frag.appendChild(h('p', { class: 'legend' }, [
      'Each cell: status in words; binding as op-group letters ', h('span', { class: 'mono', text: 'C I M T L' }),
      ' = cpu irq mmu timer lazy, UPPERCASE = bound to the hypervisor (the ROM, or Xen: underlined), lowercase = native; then the failing probe, ',
      'the known-issue reason (XFAIL) or the attempts (FLAKY).', V ? ' A verdict badge shows the change since the baseline.' : '']));
    shownConfigs().forEach(function (cfg) {
      var block = h('div', { class: 'grid-block' });
      block.appendChild(h('h2', null, ['config ', h('span', { class: 'mono', text: cfg }),
        h('span', { class: 'muted', text: CONFIG_CMDLINE[cfg] ? '  cmdline: ' + CONFIG_CMDLINE[cfg] : '  cmdline: (none)' })]));
      var table = h('table', { class: 'grid', 'data-config': cfg });
      var head = h('tr', null, h('th', { class: 'corner', text: 'kernel \\ hypervisor' }));
      hvs.forEach(function (hv) { head.appendChild(h('th', { scope: 'col', text: hv })); });
      table.appendChild(h('thead', null, head));
      var body = h('tbody');
      kernels.forEach(function (k) {
        var tr = h('tr', null, h('th', { class: 'kernel', scope: 'row', text: k }));
        hvs.forEach(function (hv) {
          var c = at(cfg, k, hv);
          if (!c) { tr.appendChild(h('td', { class: 'empty', text: '—', title: 'not in this matrix' })); return; }
          total++;
          if (!matches(c)) { tr.appendChild(h('td', { class: 'filtered', text: '·', title: 'hidden by the filters' })); return; }
          shown++;
          tr.appendChild(h('td', null, cellButton(c)));
        });
        body.appendChild(tr);
      });
      table.appendChild(body);
      block.appendChild(table);
      frag.appendChild(block);
    });
    clear(box);
    box.appendChild(frag);
    controls.count.textContent = shown + ' of ' + total + ' cells shown';
  }

  // ---- Cell details ----
  function kv(pairs) {
    var dl = h('dl', { class: 'kv' });
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === '') return;
      dl.appendChild(h('dt', { text: p[0] }));
      dl.appendChild(h('dd', null, p[1] instanceof Node ? p[1] : str(p[1])));
    });
    return dl;
  }
  function shellQuote(arg) {
    arg = str(arg);
    return /^[A-Za-z0-9_\/.,:=+@%-]+$/.test(arg) ? arg : "'" + arg.replace(/'/g, "'\\''") + "'";
  }
  function copyText(text, note) {
    function done(ok) { note.textContent = ok ? 'copied' : 'select and copy by hand'; }
    function fallback() {
      var ta = h('textarea', { 'aria-hidden': 'true' });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (err) { ok = false; }
      document.body.removeChild(ta);
      done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else fallback();
  }
  // Only plain relative paths become links: never a scheme (javascript:, http:), never absolute.
  function safeRelativePath(p) {
    return typeof p === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.\/=+,-]*$/.test(p) && p.indexOf('..') < 0;
  }
  function workaroundsSeen(c) {
    // Other configs of the same kernel x hypervisor that work: masks this very run proved.
    var out = [];
    CONFIGS.forEach(function (cfg) {
      var o = at(cfg, c.kernel, c.hv);
      if (o && o !== c && WORKS[o.status]) out.push({ mask: CONFIG_CMDLINE[cfg] || str(o.cmdline) || cfg, status: o.status, config: cfg });
    });
    return out;
  }

  function renderDetails() {
    var panel = byId('details');
    var c = state.cell ? BY_ID[state.cell] : null;
    if (!c) { panel.hidden = true; clear(panel); return; }
    clear(panel);
    panel.hidden = false;
    panel.appendChild(h('button', { class: 'close', id: 'details-close', text: 'close ✕', on: { click: closeCell } }));
    panel.appendChild(h('h2', { id: 'details-title', text: c.id }));
    var vd = V && V[c.id] ? V[c.id] : null;
    var line = h('p', null, [h('span', { class: 'badge st-' + c.status, id: 'details-status', text: c.status })]);
    if (c.outcome && c.outcome !== c.status) line.appendChild(document.createTextNode('  last boot: ' + str(c.outcome)));
    if (c.expected) line.appendChild(document.createTextNode('  expected: ' + str(c.expected)));
    if (vd && vd.verdict !== 'UNCHANGED') {
      line.appendChild(document.createTextNode('  '));
      line.appendChild(h('span', { class: 'badge v-' + str(vd.verdict), id: 'details-verdict', text: str(vd.verdict) }));
      line.appendChild(document.createTextNode(' baseline: ' + (vd.base_status ? str(vd.base_status) : 'absent') +
        ' → now: ' + (vd.head_status ? str(vd.head_status) : 'absent')));
    }
    panel.appendChild(line);
    if (vd && vd.line) panel.appendChild(h('p', { class: 'mono', id: 'details-verdict-line', text: str(vd.line) }));
    if (vd && Array.isArray(vd.binding_changes) && vd.binding_changes.length)
      panel.appendChild(h('p', { text: 'binding changed since the baseline: ' + vd.binding_changes.map(str).join(', ') }));
    if (vd && vd.needs_rerun) panel.appendChild(h('p', { class: 'muted', text: 'not confirmed by a re-run yet (a REGRESSION, or FLAKY on one side): the gate re-runs it before believing the verdict' +
      (vd.rerun ? ' (re-run: ' + str(vd.rerun) + ')' : '') }));
    if (c.reason) panel.appendChild(h('p', { class: 'reason', id: 'details-reason', text: str(c.reason) }));
    if (historyOf(c)) panel.appendChild(h('p', { id: 'details-history' }, [h('b', { text: 'history: ' }),
      h('span', { id: 'details-history-text', text: str(historyOf(c).text) }), ' ', historyStrip(c, 'details-history-strip')]));
    if (c.gone) return;

    panel.appendChild(kv([
      ['kernel', c.kernel], ['hypervisor', c.hv], ['config', c.config],
      ['cmdline', str(c.cmdline) || '(none)'],
      ['binding', bindingTitle(c.binding)],
      ['hypervisor API', c.hv_api], ['ROM features', Array.isArray(c.hv_features) ? c.hv_features.map(str).join(' ') : c.hv_features],
      ['ROM refused', c.hv_refused],
      ['known issue', c.expected_reason], ['known-issue link', c.expected_link],
      ['kernel build', c.kernel_build], ['host', c.host], ['backend', c.backend],
      ['duration', c.duration_ms !== undefined ? str(c.duration_ms) + ' ms' : ''],
      ['predicted', c.predicted && c.predicted.status ? str(c.predicted.status) +
        (c.predicted.probe ? ' (' + str(c.predicted.probe) + (c.predicted.call !== undefined && c.predicted.call !== null ? ', call ' + str(c.predicted.call) : '') + ')' : '') +
        (c.predicted.binding ? '; binding ' + bindingTitle(c.predicted.binding) : '') : '']
    ]));

    panel.appendChild(h('h3', { text: 'Stage timeline' }));
    var stages = Array.isArray(c.stages) ? c.stages : [];
    var byName = {};
    stages.forEach(function (st) { if (st) byName[str(st.name)] = st; });
    var names = STAGES.concat(stages.map(function (st) { return str(st && st.name); }).filter(function (n) {
      return n && STAGES.indexOf(n) < 0; }));
    var ol = h('ol', { class: 'timeline', id: 'stage-timeline' });
    names.forEach(function (n) {
      var st = byName[n];
      var status = st ? str(st.status) : 'not reached';
      var li = h('li', { class: (st ? status : 'unreached') + (str(c.stage) === n ? ' last' : ''),
                         title: st && st.detail ? str(st.detail) : status }, n + ': ' + status);
      ol.appendChild(li);
    });
    panel.appendChild(ol);
    stages.forEach(function (st) {
      if (st && st.detail) panel.appendChild(h('p', { class: 'muted' }, [h('span', { class: 'mono', text: str(st.name) }), ': ' + str(st.detail)]));
    });

    panel.appendChild(h('h3', { text: 'Probes' }));
    var probes = Array.isArray(c.probes) ? c.probes : [];
    if (!probes.length) panel.appendChild(h('p', { class: 'muted', text: 'no probe records' }));
    else {
      var pt = h('table', { id: 'probe-table' }, h('tr', null, [h('th', { text: 'probe' }), h('th', { text: 'status' }),
        h('th', { text: 'call' }), h('th', { text: 'detail' })]));
      probes.forEach(function (p) {
        if (!p) return;
        var name = typeof p.call === 'number' ? callName(p.call, apiMajorOf(c.hv_api)) : '';
        var call = p.call === undefined || p.call === null ? '' : str(p.call) + (name ? ' ' + name : '');
        pt.appendChild(h('tr', { class: 'probe-' + str(p.status), 'data-probe': str(p.id) }, [
          h('td', { class: 'mono', text: str(p.id) }), h('td', { text: str(p.status) }),
          h('td', { text: call }), h('td', { class: 'detail', text: str(p.detail) })]));
      });
      panel.appendChild(pt);
    }

    panel.appendChild(h('h3', { text: 'Evidence (serial log excerpt)' }));
    panel.appendChild(h('pre', { id: 'details-evidence', text: str(c.evidence) || '(none)' }));
    if (c.log) {
      var logp = h('p', { class: 'muted' }, 'full log: ');
      if (safeRelativePath(c.log)) logp.appendChild(h('a', { href: c.log, class: 'mono', text: c.log }));
      else logp.appendChild(h('span', { class: 'mono', text: str(c.log) }));
      panel.appendChild(logp);
    }

    var attempts = Array.isArray(c.attempts) ? c.attempts : [];
    panel.appendChild(h('h3', { text: 'Attempts (' + attempts.length + ')' }));
    if (attempts.length) {
      var at_ = h('table', { id: 'attempt-table' }, h('tr', null, ['#', 'status', 'duration', 'exit code', 'signal', 'reason']
        .map(function (t) { return h('th', { text: t }); })));
      attempts.forEach(function (a, i) {
        if (!a) return;
        at_.appendChild(h('tr', null, [String(i + 1), str(a.status), a.duration_ms !== undefined ? str(a.duration_ms) + ' ms' : '',
          str(a.exit_code), str(a.signal), str(a.reason)].map(function (t, j) {
          return h('td', { class: j === 5 ? 'detail' : null, text: t }); })));
      });
      panel.appendChild(at_);
    }

    panel.appendChild(h('h3', { text: 'Reproduce' }));
    var repro = str(c.reproduce);
    if (!repro && Array.isArray(c.qemu_cmdline)) repro = c.qemu_cmdline.map(shellQuote).join(' ');
    if (repro) {
      var note = h('span', { class: 'copied', 'aria-live': 'polite' });
      panel.appendChild(h('div', { class: 'repro' }, [
        h('pre', { id: 'details-reproduce', text: repro }),
        h('button', { id: 'copy-reproduce', text: 'copy', on: { click: function () { copyText(repro, note); } } }), note]));
    } else panel.appendChild(h('p', { class: 'muted', text: 'no command line recorded' }));

    panel.appendChild(h('h3', { text: 'Workarounds' }));
    var wl = Array.isArray(c.workarounds) && c.workarounds.length ? c.workarounds :
      (vd && Array.isArray(vd.workarounds) ? vd.workarounds : []);
    if (wl.length) {
      var wt = h('table', { id: 'workaround-table' }, h('tr', null, [h('th', { text: 'kernel command line mask' }), h('th', { text: 'result' })]));
      wl.forEach(function (w) {
        if (!w) return;
        var mask = str(w.mask);
        wt.appendChild(h('tr', null, [h('td', { class: 'mono', text: /^pv\.native=/.test(mask) ? mask : 'pv.native=' + mask }),
          h('td', { text: str(w.status) })]));
      });
      panel.appendChild(wt);
    } else if (!WORKS[c.status]) {
      var seen = workaroundsSeen(c);
      if (seen.length) {
        var ul = h('ul', { id: 'workarounds-seen' });
        seen.forEach(function (w) { ul.appendChild(h('li', null, [h('span', { class: 'mono', text: w.mask }),
          ' → ' + w.status + ' (config ' + w.config + ' in this run)'])); });
        panel.appendChild(h('p', { class: 'muted', text: 'No workaround search recorded; in this run these configs of the same kernel and hypervisor work:' }));
        panel.appendChild(ul);
      } else panel.appendChild(h('p', { class: 'muted', text: 'none known' }));
    } else panel.appendChild(h('p', { class: 'muted', text: 'not needed' }));
  }
  function openCell(id) { state.cell = id; update(); var p = byId('details'); if (p.focus) { p.tabIndex = -1; p.focus(); } }
  function closeCell() { state.cell = ''; update(); }

  // ---- The compatibility web: releases <-> hypervisor versions ----
  function webConfig() { return state.cfg === 'all' ? CONFIGS[0] : state.cfg; }
  function edgeKind(status) {
    if (status === 'PASS' || status === 'XPASS') return 'works';
    if (status === 'FLAKY') return 'flaky';
    if (status === 'XFAIL') return 'known';
    if (BROKEN[status]) return 'broken';
    return 'unknown';
  }
  var EDGE_STYLE = {
    works: { stroke: '#1a7f37', dash: '', width: 2.5, label: 'works (PASS, XPASS)' },
    flaky: { stroke: '#bf8700', dash: '8 3', width: 2, label: 'works after a retry (FLAKY)' },
    known: { stroke: '#8c959f', dash: '6 4', width: 1.5, label: 'known incompatible (XFAIL)' },
    broken: { stroke: '#cf222e', dash: '3 3', width: 2, label: 'broken (FAIL, CRASH, HANG)' },
    unknown: { stroke: '#d0d7de', dash: '1 4', width: 1, label: 'not known (ERROR, SKIP)' }
  };

  function dependsOn(cfg, k) {
    // Per op group the kernel binds to the ROM where it works: the group's ROM features present
    // on every such cell; and which of those are missing on the versions where it breaks.
    var working = [], failing = [];
    HVS.forEach(function (hv) {
      var c = at(cfg, k, hv);
      if (!c) return;
      if (WORKS[c.status]) working.push(c); else if (BROKEN[c.status]) failing.push(c);
    });
    var out = [];
    GROUPS.forEach(function (g) {
      var on = working.filter(function (c) { return c.binding && isBound(c.binding[g]); });
      if (!on.length) return;
      var need = null;
      on.forEach(function (c) {
        var f = (Array.isArray(c.hv_features) ? c.hv_features : []).map(str).filter(function (x) {
          return (FEATURE_GROUP[x] || g) === g; });
        need = need === null ? f : need.filter(function (x) { return f.indexOf(x) >= 0; });
      });
      var missing = [];
      failing.forEach(function (c) {
        if (!c.binding || !isBound(c.binding[g])) return;
        var f = (Array.isArray(c.hv_features) ? c.hv_features : []).map(str);
        var lacks = need.filter(function (x) { return f.indexOf(x) < 0; });
        if (lacks.length) missing.push(c.hv + ' lacks ' + lacks.join(', '));
      });
      out.push({ group: g, need: need, missing: missing });
    });
    return out;
  }

  function renderWeb() {
    var box = byId('web');
    clear(box);
    var cfg = webConfig();
    box.appendChild(h('h2', null, ['Compatibility web, config ', h('span', { class: 'mono', text: cfg }),
      h('span', { class: 'muted', text: state.cfg === 'all' ? '  (switch config above to see another)' : '' })]));
    box.appendChild(h('p', { class: 'legend', text: 'Every kernel release binds to the hypervisor versions it runs on: ' +
      'each edge is one cell, so a release that drops support shows as a broken edge. Click a node to focus it, an edge to open the cell.' }));
    var rowH = 30, top = 30, leftX = 170, rightX = 630, width = 800;
    var n = Math.max(KERNELS.length, HVS.length, 1);
    var height = top + n * rowH + 20;
    var svg = s('svg', { class: 'web', id: 'compat-web', width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
                         role: 'img', 'aria-label': 'kernel releases and the hypervisor versions they run on' });
    svg.appendChild(s('text', { x: leftX - 10, y: 16, 'text-anchor': 'end', 'font-weight': 'bold' }, 'kernel release'));
    svg.appendChild(s('text', { x: rightX + 10, y: 16, 'font-weight': 'bold' }, 'hypervisor version'));
    function ky(i) { return top + (i + 0.5) * (n * rowH / Math.max(KERNELS.length, 1)); }
    function hy(i) { return top + (i + 0.5) * (n * rowH / Math.max(HVS.length, 1)); }
    var edges = s('g', { class: 'edges' });
    var edgeEls = [];
    KERNELS.forEach(function (k, i) {
      HVS.forEach(function (hv, j) {
        var c = at(cfg, k, hv);
        if (!c || c.gone) return;
        var kind = edgeKind(c.status), st = EDGE_STYLE[kind];
        var y1 = ky(i), y2 = hy(j), mx = (leftX + rightX) / 2;
        var vd = verdictOf(c);
        var path = s('path', { class: 'edge edge-' + kind, d: 'M' + leftX + ' ' + y1 + ' C' + mx + ' ' + y1 + ' ' + mx + ' ' + y2 + ' ' + rightX + ' ' + y2,
          stroke: vd === 'REGRESSION' || vd === 'BINDING_LOST' ? '#cf222e' : st.stroke, 'stroke-width': vd === 'REGRESSION' || vd === 'BINDING_LOST' ? 4 : st.width,
          'stroke-dasharray': st.dash || null, 'data-id': c.id, 'data-kernel': k, 'data-hv': hv, 'data-status': c.status,
          on: { click: function () { openCell(c.id); } } },
          s('title', null, k + ' ↔ ' + hv + ': ' + c.status + (vd && vd !== 'UNCHANGED' ? ' (' + vd + ')' : '')));
        edgeEls.push(path);
        edges.appendChild(path);
      });
    });
    svg.appendChild(edges);
    var nodeEls = Object.create(null);
    function node(label, x, y, anchorRight, attr) {
      var w = Math.max(60, label.length * 8 + 14);
      var g = s('g', { class: 'node', 'data-node': attr + ':' + label, tabindex: 0 });
      nodeEls[attr + ':' + label] = g;
      g.appendChild(s('rect', { x: anchorRight ? x - w : x, y: y - 11, width: w, height: 22, rx: 4 }));
      g.appendChild(s('text', { x: anchorRight ? x - 7 : x + 7, y: y + 4, 'text-anchor': anchorRight ? 'end' : 'start' }, label));
      g.addEventListener('click', function () {
        var on = !g.classList.contains('hot');
        svg.querySelectorAll('.hot').forEach(function (e) { e.classList.remove('hot'); });
        svg.classList.toggle('focus', on);
        if (!on) return;
        g.classList.add('hot');
        edgeEls.forEach(function (e) {
          if (e.getAttribute('data-' + attr) === label) {
            e.classList.add('hot');
            var other = nodeEls[(attr === 'kernel' ? 'hv:' + e.getAttribute('data-hv') : 'kernel:' + e.getAttribute('data-kernel'))];
            if (other) other.classList.add('hot');
          }
        });
      });
      return g;
    }
    KERNELS.forEach(function (k, i) { svg.appendChild(node(k, leftX, ky(i), true, 'kernel')); });
    HVS.forEach(function (hv, j) { svg.appendChild(node(hv, rightX, hy(j), false, 'hv')); });

    var legend = h('ul', { class: 'legend', id: 'web-legend' });
    Object.keys(EDGE_STYLE).forEach(function (kind) {
      var st = EDGE_STYLE[kind];
      var sample = s('svg', { width: 40, height: 10, 'aria-hidden': 'true' },
        s('line', { x1: 0, y1: 5, x2: 40, y2: 5, stroke: st.stroke, 'stroke-width': st.width, 'stroke-dasharray': st.dash || null }));
      legend.appendChild(h('li', null, [sample, ' ' + (st.dash ? (kind === 'unknown' ? 'dotted' : 'dashed') : 'solid') + ': ' + st.label]));
    });
    if (V) legend.appendChild(h('li', { text: 'thick red: REGRESSION against the baseline' }));

    // The same web as tables, for reading and for screen readers.
    var kt = h('table', { class: 'compat', id: 'kernel-web' }, h('tr', null, ['kernel release', 'runs on', 'does not run on',
      'binds to the hypervisor (where it runs)', 'ROM features it depends on'].map(function (t) { return h('th', { text: t }); })));
    KERNELS.forEach(function (k) {
      var ok = [], bad = [], groups = {};
      HVS.forEach(function (hv) {
        var c = at(cfg, k, hv);
        if (!c || c.gone) return;
        if (WORKS[c.status]) {
          ok.push(hv + (c.status === 'PASS' ? '' : ' (' + c.status + ')'));
          GROUPS.forEach(function (g) { if (c.binding && isBound(c.binding[g])) groups[g] = 1; });
        } else if (BROKEN[c.status]) bad.push(hv + ' (' + c.status + ')');
      });
      var deps = h('td');
      dependsOn(cfg, k).forEach(function (d) {
        deps.appendChild(h('div', null, [h('span', { class: 'need', text: d.group + ': ' }),
          d.need.length ? d.need.join(', ') : '(no feature bit)',
          d.missing.length ? h('span', { class: 'muted', text: ' — breaks where ' + d.missing.join('; ') }) : '']));
      });
      kt.appendChild(h('tr', { 'data-kernel': k }, [h('th', { text: k }), h('td', { class: 'ok', text: ok.join(', ') || '—' }),
        h('td', { class: 'bad', text: bad.join(', ') || '—' }),
        h('td', { class: 'mono', text: Object.keys(groups).join(' ') || 'nothing (all native)' }), deps]));
    });
    var ht = h('table', { class: 'compat', id: 'hv-web' }, h('tr', null, ['hypervisor version', 'API', 'keeps working',
      'breaks', 'features offered'].map(function (t) { return h('th', { text: t }); })));
    HVS.forEach(function (hv) {
      var ok = [], bad = [], api = '', feats = {};
      KERNELS.forEach(function (k) {
        var c = at(cfg, k, hv);
        if (!c || c.gone) return;
        if (c.hv_api && !api) api = str(c.hv_api);
        (Array.isArray(c.hv_features) ? c.hv_features : []).forEach(function (f) { feats[str(f)] = 1; });
        if (WORKS[c.status]) ok.push(k); else if (BROKEN[c.status]) bad.push(k + ' (' + c.status + ')');
      });
      ht.appendChild(h('tr', { 'data-hv': hv }, [h('th', { text: hv }), h('td', { text: api || '—' }),
        h('td', { class: 'ok', text: ok.join(', ') || '—' }), h('td', { class: 'bad', text: bad.join(', ') || '—' }),
        h('td', { class: 'mono', text: Object.keys(feats).join(' ') || '—' })]));
    });
    box.appendChild(h('div', { class: 'web-wrap' }, [h('div', null, [svg, legend]),
      h('div', null, [h('h3', { text: 'Per kernel release' }), kt, h('h3', { text: 'Per hypervisor version' }), ht])]));
  }

  // ---- Wiring ----
  var lastWebCfg = null;
  function update() {
    writeHash();
    render();
  }
  function render() {
    mark('pvm-render-start');
    syncControls();
    renderGrids();
    if (lastWebCfg !== webConfig()) { lastWebCfg = webConfig(); renderWeb(); }
    renderDetails();
    document.documentElement.setAttribute('data-ready', 'true');
    try { performance.measure('pvm-render', 'pvm-render-start'); } catch (err) { /* no User Timing */ }
  }
  byId('grids').addEventListener('click', function (ev) {
    var b = ev.target.closest ? ev.target.closest('button.cell') : null;
    if (b) openCell(b.getAttribute('data-id'));
  });
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape' && state.cell) closeCell(); });
  window.addEventListener('hashchange', function () { readHash(); render(); });

  readHash();
  var m = R.meta && typeof R.meta === 'object' ? R.meta : {};
  document.title = 'pvmatrix report' + (m.host ? ' — ' + str(m.host) : '') +
    (R.complete === false ? ' (incomplete)' : '');
  renderHeader();
  renderOverview();
  renderFilters();
  render();
  mark('pvm-ready');
}());
