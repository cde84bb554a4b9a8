/*
 * The admin page's plots, drawn in the browser with uPlot (served by the bridge, no CDN) from
 * GET api/plots: counts only, never a value of an instance. Each chart has a table beside it for
 * screen readers and keyboards (the canvas is decoration for them).
 */
'use strict';
(function () {
  const colours = { pushed: '#17803d', quarantined: '#b42318', bars: '#175cd3' };

  const HOUR = 3600;
  const hourOf = (iso) => Math.floor(Date.parse(iso) / 1000 / HOUR) * HOUR;

  /** Every hour of the period, as the x axis of a chart (seconds), with its first and last. */
  function hours(since, until) {
    const first = hourOf(since);
    const last = hourOf(until);
    const all = [];
    for (let t = first; t <= last; t += HOUR) all.push(t);
    return { first, last, all };
  }

  /** Per-hour counts of two series over the whole period, every hour on the axis (0 where none). */
  function perHour(el, since, until, pushed, quarantined) {
    const { first, last, all } = hours(since, until);
    const at = (rows) => {
      const m = new Map(rows.map((r) => [hourOf(r.hour + ':00:00Z'), r.count]));
      return all.map((t) => m.get(t) ?? 0);
    };
    return new uPlot(
      {
        width: 720,
        height: 240,
        scales: { x: { time: true, range: [first, last] } },
        series: [
          {},
          { label: 'carried', stroke: colours.pushed, width: 2 },
          { label: 'quarantined', stroke: colours.quarantined, width: 2 },
        ],
        axes: [{}, { label: 'instances per hour' }],
      },
      [all, at(pushed), at(quarantined)],
      el,
    );
  }

  /** The feed's largest lag per hour over the whole period; an hour without a poll is a gap. */
  function lagPerHour(el, since, until, rows) {
    if (rows.length === 0) {
      el.textContent = 'No poll of the change log in this period.';
      return undefined;
    }
    const { first, last, all } = hours(since, until);
    const m = new Map(rows.map((r) => [hourOf(r.hour + ':00:00Z'), r.maxLag]));
    return new uPlot(
      {
        width: 720,
        height: 200,
        scales: { x: { time: true, range: [first, last] } },
        series: [
          {},
          // Points too: an hour with polls between hours without any is a point, not a line.
          {
            label: 'largest lag',
            stroke: colours.bars,
            width: 2,
            spanGaps: false,
            points: { show: true, size: 7, fill: colours.bars },
          },
        ],
        axes: [{}, { label: 'changes not yet read' }],
      },
      [all, all.map((t) => (m.has(t) ? m.get(t) : null))],
      el,
    );
  }

  /** Counts by category as bars (x: the category's index, its name on the axis). */
  function bars(el, labels, counts, label) {
    if (counts.every((c) => c === 0)) {
      el.textContent = 'None in this period.';
      return undefined;
    }
    return new uPlot(
      {
        width: 720,
        height: 220,
        scales: { x: { time: false } },
        series: [
          {},
          {
            label,
            fill: colours.bars,
            stroke: colours.bars,
            paths: uPlot.paths.bars({ size: [0.6, 64] }),
            points: { show: false },
          },
        ],
        axes: [{ values: (_u, ticks) => ticks.map((t) => labels[t] ?? '') }, { label: 'instances' }],
      },
      [labels.map((_, i) => i), counts],
      el,
    );
  }

  function table(el, head, rows) {
    const t = document.createElement('table');
    const tr = (cells, tag) => {
      const r = document.createElement('tr');
      for (const c of cells) {
        const d = document.createElement(tag);
        d.textContent = String(c);
        r.appendChild(d);
      }
      return r;
    };
    t.appendChild(tr(head, 'th'));
    for (const r of rows) t.appendChild(tr(r, 'td'));
    el.appendChild(t);
  }

  fetch('api/plots' + location.search, { credentials: 'same-origin' })
    .then((r) => r.json())
    .then((p) => {
      perHour(
        document.getElementById('plot-hourly'),
        p.since,
        p.until,
        p.pushedPerHour,
        p.quarantinedPerHour,
      );
      table(
        document.getElementById('table-hourly'),
        ['hour (UTC)', 'carried'],
        p.pushedPerHour.map((r) => [r.hour, r.count]),
      );
      bars(
        document.getElementById('plot-checks'),
        p.quarantineByCheck.map((r) => r.check),
        p.quarantineByCheck.map((r) => r.count),
        'open quarantine',
      );
      table(
        document.getElementById('table-checks'),
        ['check', 'open'],
        p.quarantineByCheck.map((r) => [r.check, r.count]),
      );
      bars(
        document.getElementById('plot-masked'),
        p.maskedShare.map((r) => r.band),
        p.maskedShare.map((r) => r.count),
        'carried masked',
      );
      table(
        document.getElementById('table-masked'),
        ['share of a frame masked', 'instances'],
        p.maskedShare.map((r) => [r.band, r.count]),
      );
      lagPerHour(document.getElementById('plot-lag'), p.since, p.until, p.feedLagPerHour);
      table(
        document.getElementById('table-lag'),
        ['hour (UTC)', 'largest lag (changes)', 'polls'],
        p.feedLagPerHour.map((r) => [r.hour, r.maxLag, r.polls]),
      );
      document.body.dataset.plotted = 'yes';
    })
    .catch(() => {
      document.getElementById('plots-error').textContent = 'The plots could not be loaded.';
    });
})();
