/* reachd dashboard - vanilla JS, no framework, no network beyond the same
 * origin's /api/v1. Reads the API, renders per site: queues (answered rate,
 * service level, calls waiting, longest wait, 24 h and 30 d charts),
 * mailboxes (backlog, oldest unanswered, acknowledgement rate, reply delay),
 * active alerts and the freshness of each source. Live figures every 10 s,
 * windows and series every 60 s, never a reload.
 *
 * Every displayed figure carries data-figure, data-entity, data-site (and
 * data-window) so tests can read what is shown. Formats: see fmtRate,
 * fmtInt, fmtDur (mirrored in tests/integration/test_t_dashboard.py). */
(function () {
	'use strict';

	var NBSP = '\u00a0';
	var DASH = '\u2013'; /* a null figure: no calls, never 0 % or 100 % */
	var FAST_MS = 10000;
	var SLOW_MS = 60000;
	var RATE_OK = 0.85;
	var RATE_WARN = 0.75;
	var FRESH_OK_S = 5 * 60;
	var FRESH_WARN_S = 30 * 60;
	var WINDOWS = ['1h', '24h', '30d'];

	var I18N = {
		fr: {
			title: 'Accessibilité des services',
			loading: 'Chargement…',
			live: 'En direct',
			stale: 'Données non actualisées',
			updated: 'Mis à jour à ',
			alerts: 'Alertes',
			no_alerts: 'Aucune alerte active',
			firing: 'En cours',
			pending: 'En attente',
			silenced: 'Silencieuses',
			recent: 'Dernières transitions',
			since: 'depuis ',
			level_critical: 'CRITIQUE',
			level_warning: 'ALERTE',
			level_ok: 'RÉTABLIE',
			sources: 'Fraîcheur des données',
			site: 'Site',
			queues: 'Files d\u2019attente téléphoniques',
			mailboxes: 'Boîtes fonctionnelles',
			answered_rate: 'Appels aboutis',
			service_level: 'Niveau de service',
			calls_waiting: 'En attente',
			longest_wait: 'Attente la plus longue',
			offered: 'Présentés',
			answered: 'Répondus',
			answered_short: 'Aboutis',
			abandon_rate: 'Abandons',
			window_1h: '1 h',
			window_24h: '24 h',
			window_30d: '30 j',
			chart_hour: 'Taux d\u2019appels aboutis, 24 h par heure',
			chart_day: 'Taux d\u2019appels aboutis, 30 jours par jour',
			chart_null: 'aucun appel',
			backlog: 'Messages sans réponse',
			oldest: 'Plus ancien sans réponse',
			oldest_business: 'en heures ouvrées',
			ack_rate: 'Accusés de réception',
			ack_short: 'AR',
			reply_delay: 'Délai de réponse moyen',
			delay_short: 'Délai moyen',
			reply_delay_business: 'Délai moyen (heures ouvrées)',
			received: 'Reçus',
			replied: 'Répondus',
			state_ok: 'bon',
			state_warn: 'à surveiller',
			state_bad: 'insuffisant',
			state_none: 'sans appel',
			fresh_ok: 'à jour',
			fresh_warn: 'en retard',
			fresh_bad: 'arrêtée',
			fresh_none: 'aucune ligne',
			ago: 'il y a ',
			collector: 'Source',
			type: 'Type',
			last_line: 'Dernière ligne',
			freshness: 'État',
			rejected: 'Lignes rejetées',
			lag: 'Retard de lecture',
			pg_down: 'PostgreSQL injoignable : les indicateurs ne sont plus mis à jour',
			redis_down: 'Redis injoignable : les indicateurs en direct peuvent être anciens',
			server_down: 'Serveur reachd injoignable',
			api_error: 'Erreur de l\u2019API',
			page_error: 'Erreur d\u2019affichage',
			unauthorized: 'Accès refusé : jeton absent ou invalide (ouvrir /?token=…)',
			no_data: 'Aucune donnée pour l\u2019instant',
			version: 'version',
			started: 'démarré le ',
			day: 'j',
			thousands: NBSP,
			decimal: ',',
			percent: NBSP + '%'
		},
		en: {
			title: 'Service reachability',
			loading: 'Loading…',
			live: 'Live',
			stale: 'Data not refreshed',
			updated: 'Updated at ',
			alerts: 'Alerts',
			no_alerts: 'No active alert',
			firing: 'Firing',
			pending: 'Pending',
			silenced: 'Silenced',
			recent: 'Recent transitions',
			since: 'for ',
			level_critical: 'CRITICAL',
			level_warning: 'WARNING',
			level_ok: 'RESOLVED',
			sources: 'Data freshness',
			site: 'Site',
			queues: 'Call queues',
			mailboxes: 'Functional mailboxes',
			answered_rate: 'Answered calls',
			service_level: 'Service level',
			calls_waiting: 'Waiting',
			longest_wait: 'Longest wait',
			offered: 'Offered',
			answered: 'Answered',
			answered_short: 'Answered rate',
			abandon_rate: 'Abandoned',
			window_1h: '1 h',
			window_24h: '24 h',
			window_30d: '30 d',
			chart_hour: 'Answered-call rate, 24 h by hour',
			chart_day: 'Answered-call rate, 30 days by day',
			chart_null: 'no calls',
			backlog: 'Unanswered messages',
			oldest: 'Oldest unanswered',
			oldest_business: 'in business hours',
			ack_rate: 'Acknowledged',
			ack_short: 'Acknowledged',
			reply_delay: 'Average reply delay',
			delay_short: 'Average delay',
			reply_delay_business: 'Average delay (business hours)',
			received: 'Received',
			replied: 'Replied',
			state_ok: 'good',
			state_warn: 'watch',
			state_bad: 'poor',
			state_none: 'no calls',
			fresh_ok: 'up to date',
			fresh_warn: 'late',
			fresh_bad: 'stopped',
			fresh_none: 'no line yet',
			ago: '',
			ago_suffix: ' ago',
			collector: 'Source',
			type: 'Type',
			last_line: 'Last line',
			freshness: 'State',
			rejected: 'Rejected lines',
			lag: 'Read lag',
			pg_down: 'PostgreSQL unreachable: indicators are no longer updated',
			redis_down: 'Redis unreachable: live figures may be old',
			server_down: 'reachd server unreachable',
			api_error: 'API error',
			page_error: 'Display error',
			unauthorized: 'Access denied: missing or invalid token (open /?token=…)',
			no_data: 'No data yet',
			version: 'version',
			started: 'started ',
			day: 'd',
			thousands: ',',
			decimal: '.',
			percent: '%'
		}
	};

	var params = new URLSearchParams(window.location.search);
	var TOKEN = params.get('token') || '';
	var SITE = params.get('site') || '';
	var lang = 'fr';

	var state = {
		status: null,
		live: null,
		alerts: null,
		ind: {},
		hour: null,
		day: null,
		errors: {},
		lastOk: 0
	};

	function t(key) {
		var d = I18N[lang] || I18N.fr;
		return Object.prototype.hasOwnProperty.call(d, key) ? d[key] : I18N.fr[key] || key;
	}

	/* ---- formatting (mirrored by the test) -------------------------------- */

	function isNum(v) {
		return typeof v === 'number' && isFinite(v);
	}

	function pad2(n) {
		return n < 10 ? '0' + n : String(n);
	}

	function group(n) {
		var s = String(n);
		var out = '';
		while (s.length > 3) {
			out = t('thousands') + s.slice(-3) + out;
			s = s.slice(0, -3);
		}
		return s + out;
	}

	/* 0.8532 -> "85,3 %" (fr) or "85.3%" (en); null -> en dash. */
	function fmtRate(v) {
		if (!isNum(v))
			return DASH;
		var n = Math.round(v * 1000);
		return group(Math.floor(n / 10)) + t('decimal') + (n % 10) + t('percent');
	}

	function fmtInt(v) {
		if (!isNum(v))
			return DASH;
		var n = Math.round(v);
		return (n < 0 ? '-' : '') + group(Math.abs(n));
	}

	/* Seconds -> "45 s", "12 min 05 s", "2 h 05 min", "3 j 04 h". */
	function fmtDur(v) {
		if (!isNum(v))
			return DASH;
		var s = Math.max(0, Math.round(v));
		if (s < 60)
			return s + NBSP + 's';
		if (s < 3600)
			return Math.floor(s / 60) + NBSP + 'min' + NBSP + pad2(s % 60) + NBSP + 's';
		if (s < 86400)
			return Math.floor(s / 3600) + NBSP + 'h' + NBSP + pad2(Math.floor(s % 3600 / 60)) + NBSP + 'min';
		return group(Math.floor(s / 86400)) + NBSP + t('day') + NBSP + pad2(Math.floor(s % 86400 / 3600)) + NBSP + 'h';
	}

	function fmtAgo(s) {
		return t('ago') + fmtDur(s) + (t('ago_suffix') === 'ago_suffix' ? '' : t('ago_suffix'));
	}

	function fmtClock(ms) {
		var d = new Date(ms);
		return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
	}

	function fmtDateTime(iso) {
		var ms = Date.parse(iso);
		if (!isFinite(ms))
			return iso || DASH;
		var d = new Date(ms);
		var date = lang === 'fr'
		        ? pad2(d.getDate()) + '/' + pad2(d.getMonth() + 1) + '/' + d.getFullYear()
		        : d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate());
		return date + ' ' + pad2(d.getHours()) + ':' + pad2(d.getMinutes());
	}

	function fmtBytes(v) {
		if (!isNum(v))
			return DASH;
		var units = ['o', 'Kio', 'Mio', 'Gio'];
		if (lang !== 'fr')
			units = ['B', 'KiB', 'MiB', 'GiB'];
		var i = 0;
		while (v >= 1024 && i < units.length - 1) {
			v /= 1024;
			i++;
		}
		return fmtInt(i === 0 ? v : Math.round(v)) + NBSP + units[i];
	}

	/* A figure's value in its kind: rates, durations (_s) or counts. */
	function fmtFigure(figure, v) {
		if (/_rate$|^service_level$|^replied_within_target$/.test(figure || ''))
			return fmtRate(v);
		if (/_s$/.test(figure || ''))
			return fmtDur(v);
		return fmtInt(v);
	}

	function rateClass(v) {
		if (!isNum(v))
			return 'none';
		return v >= RATE_OK ? 'ok' : v >= RATE_WARN ? 'warn' : 'bad';
	}

	/* ---- DOM helpers -------------------------------------------------------- */

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = text;
		return e;
	}

	var SVGNS = 'http://www.w3.org/2000/svg';

	function svg(tag, attrs) {
		var e = document.createElementNS(SVGNS, tag);
		for (var k in attrs)
			if (Object.prototype.hasOwnProperty.call(attrs, k))
				e.setAttribute(k, attrs[k]);
		return e;
	}

	function tag(e, figure, site, entity, win) {
		e.setAttribute('data-figure', figure);
		e.setAttribute('data-site', site);
		if (entity !== null && entity !== undefined)
			e.setAttribute('data-entity', entity);
		if (win)
			e.setAttribute('data-window', win);
		return e;
	}

	/* A labelled figure: <div class=fig><span class=label/><span class=value data-figure/></div> */
	function figure(label, text, figureName, site, entity, win, cls) {
		var box = el('div', 'fig' + (cls ? ' ' + cls : ''));
		box.appendChild(el('span', 'label', label));
		box.appendChild(tag(el('span', 'value', text), figureName, site, entity, win));
		return box;
	}

	/* ---- API ---------------------------------------------------------------- */

	function ApiError(message, status, body) {
		this.message = message;
		this.status = status;
		this.body = body;
	}

	function api(path) {
		var headers = {Accept: 'application/json'};
		if (TOKEN)
			headers.Authorization = 'Bearer ' + TOKEN;
		return fetch(path, {headers: headers, cache: 'no-store', credentials: 'same-origin'})
		    .then(function (r) {
			    return r.text().then(function (text) {
				    var body = null;
				    try {
					    body = text ? JSON.parse(text) : null;
				    } catch (e) {
					    body = null;
				    }
				    if (!r.ok)
					    throw new ApiError((body && body.error) || ('HTTP ' + r.status), r.status, body);
				    if (body === null || typeof body !== 'object')
					    throw new ApiError('invalid JSON', r.status, null);
				    return body;
			    });
		    }, function () {
			    throw new ApiError(null, 0, null); /* network: server unreachable */
		    });
	}

	function isoZ(ms) {
		return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
	}

	/* Run one request, store its result or its error under key. */
	function load(key, path, store) {
		return api(path).then(function (body) {
			delete state.errors[key];
			store(body);
			state.lastOk = Date.now();
		}, function (err) {
			state.errors[key] = err instanceof ApiError ? err : new ApiError(String(err), -1, null);
		});
	}

	function loadFast() {
		return Promise.all([
			load('status', 'api/v1/status', function (b) {
				state.status = b;
				setLanguage(b.language === 'en' ? 'en' : 'fr');
			}),
			load('live', 'api/v1/live', function (b) {
				state.live = b;
			}),
			load('alerts', 'api/v1/alerts', function (b) {
				state.alerts = b;
			})
		]);
	}

	function loadSlow() {
		var now = Date.now();
		var hourEnd = Math.floor(now / 3600000) * 3600000 + 3600000;
		var dayEnd = Math.floor(now / 86400000) * 86400000 + 86400000;
		var siteQ = SITE ? '&site=' + encodeURIComponent(SITE) : '';
		var reqs = WINDOWS.map(function (w) {
			return load('indicators ' + w, 'api/v1/indicators?window=' + w + siteQ, function (b) {
				state.ind[w] = b;
			});
		});
		reqs.push(load('series hour', 'api/v1/series?grain=hour&from=' + isoZ(hourEnd - 24 * 3600000) +
		                                  '&to=' + isoZ(hourEnd), function (b) {
			state.hour = b;
		}));
		reqs.push(load('series day', 'api/v1/series?grain=day&from=' + isoZ(dayEnd - 31 * 86400000) +
		                                 '&to=' + isoZ(dayEnd), function (b) {
			state.day = b;
		}));
		return Promise.all(reqs);
	}

	function setLanguage(l) {
		if (l === lang)
			return;
		lang = l;
		document.documentElement.setAttribute('lang', l);
	}

	/* ---- rendering ---------------------------------------------------------- */

	function byName(a, b) {
		return a < b ? -1 : a > b ? 1 : 0;
	}

	function wanted(site) {
		return !SITE || site === SITE;
	}

	/* {site: {queues: {name: {...}}, mailboxes: {name: {...}}}} from every source. */
	function collect() {
		var sites = {};

		function entry(site, kind, name) {
			if (!wanted(site))
				return null;
			var s = sites[site] || (sites[site] = {queues: {}, mailboxes: {}});
			return s[kind][name] || (s[kind][name] = {win: {}, live: null, hour: [], day: []});
		}
		WINDOWS.forEach(function (w) {
			var b = state.ind[w];
			if (!b)
				return;
			(b.calls || []).forEach(function (r) {
				var e = entry(r.site, 'queues', r.queue);
				if (e)
					e.win[w] = r;
			});
			(b.mail || []).forEach(function (r) {
				var e = entry(r.site, 'mailboxes', r.mailbox);
				if (e)
					e.win[w] = r;
			});
		});
		if (state.live) {
			(state.live.queues || []).forEach(function (r) {
				var e = entry(r.site, 'queues', r.queue);
				if (e)
					e.live = r;
			});
			(state.live.mailboxes || []).forEach(function (r) {
				var e = entry(r.site, 'mailboxes', r.mailbox);
				if (e)
					e.live = r;
			});
		}
		[['hour', state.hour], ['day', state.day]].forEach(function (p) {
			if (!p[1])
				return;
			(p[1].calls || []).forEach(function (r) {
				var e = entry(r.site, 'queues', r.queue);
				if (e)
					e[p[0]].push(r);
			});
		});
		if (state.status)
			(state.status.collectors || []).forEach(function (c) {
				if (wanted(c.site) && !sites[c.site])
					sites[c.site] = {queues: {}, mailboxes: {}};
			});
		return sites;
	}

	function stateText(cls) {
		return t(cls === 'ok' ? 'state_ok' : cls === 'warn' ? 'state_warn' : cls === 'bad' ? 'state_bad' : 'state_none');
	}

	/* Chart slots: 24 hours ending with the current one, or 30 days ending today. */
	function slots(grain) {
		var out = [];
		var now = Date.now();
		var i;
		if (grain === 'hour') {
			var h = Math.floor(now / 3600000) * 3600000;
			for (i = 23; i >= 0; i--)
				out.push(isoZ(h - i * 3600000).slice(0, 13));
		} else {
			var d = Math.floor(now / 86400000) * 86400000;
			for (i = 29; i >= 0; i--)
				out.push(isoZ(d - i * 86400000).slice(0, 10));
		}
		return out;
	}

	function bucketKey(grain, bucket) {
		return String(bucket || '').slice(0, grain === 'hour' ? 13 : 10);
	}

	function slotLabel(grain, key) {
		if (grain === 'hour') {
			var d = new Date(Date.parse(key + ':00:00Z'));
			return pad2(d.getHours()) + NBSP + 'h';
		}
		return lang === 'fr' ? key.slice(8, 10) + '/' + key.slice(5, 7) : key.slice(5, 10);
	}

	/* A bar chart of answered_rate per slot: threshold lines at 85 % and
	 * 75 %, a grey tick for a slot without calls (null is not 0 %). */
	function chart(grain, rows, site, queue) {
		var keys = slots(grain);
		var byKey = {};
		rows.forEach(function (r) {
			byKey[bucketKey(grain, r.bucket)] = r;
		});
		/* a day series in the site's time zone may end one slot later */
		rows.forEach(function (r) {
			var k = bucketKey(grain, r.bucket);
			if (keys.indexOf(k) < 0 && k > keys[keys.length - 1]) {
				keys.push(k);
				keys.shift();
			}
		});
		var W = 240, H = 60, n = keys.length, bw = W / n;
		var box = el('figure', 'chart');
		tag(box, 'chart_' + grain, site, queue, grain === 'hour' ? '24h' : '30d');
		var title = t(grain === 'hour' ? 'chart_hour' : 'chart_day');
		var s = svg('svg', {viewBox: '0 0 ' + W + ' ' + (H + 2), preserveAspectRatio: 'none', role: 'img', 'aria-label': title, 'class': 'bars'});
		var tt = svg('title', {});
		tt.textContent = title;
		s.appendChild(tt);
		[[RATE_OK, 'th-ok'], [RATE_WARN, 'th-warn']].forEach(function (th) {
			var y = (H * (1 - th[0])).toFixed(2);
			s.appendChild(svg('line', {x1: 0, x2: W, y1: y, y2: y, 'class': th[1]}));
		});
		var shown = 0;
		keys.forEach(function (k, i) {
			var r = byKey[k];
			var v = r ? r.answered_rate : null;
			var x = (i * bw + bw * 0.12).toFixed(2), w = (bw * 0.76).toFixed(2);
			var rect;
			if (isNum(v)) {
				var h = Math.max(1, H * Math.min(1, Math.max(0, v)));
				rect = svg('rect', {x: x, width: w, y: (H - h).toFixed(2), height: h.toFixed(2), 'class': 'bar ' + rateClass(v)});
				shown++;
			} else {
				rect = svg('rect', {x: x, width: w, y: H - 1, height: 1, 'class': 'bar none'});
			}
			rect.setAttribute('data-bucket', k);
			rect.setAttribute('data-value', isNum(v) ? String(v) : '');
			var rt = svg('title', {});
			rt.textContent = slotLabel(grain, k) + ' : ' + (isNum(v) ? fmtRate(v) + ' (' + fmtInt(r.answered) + '/' + fmtInt(r.offered) + ')' : t('chart_null'));
			rect.appendChild(rt);
			s.appendChild(rect);
		});
		box.setAttribute('data-points', String(shown));
		box.appendChild(s);
		var cap = el('figcaption', 'chart-cap');
		cap.appendChild(el('span', 'chart-title', grain === 'hour' ? t('window_24h') : t('window_30d')));
		cap.appendChild(el('span', 'chart-axis', slotLabel(grain, keys[0]) + ' → ' + slotLabel(grain, keys[n - 1])));
		box.appendChild(cap);
		return box;
	}

	function queueCard(site, name, q) {
		var card = el('article', 'card queue');
		tag(card, 'queue', site, name);
		card.appendChild(el('h4', 'card-title', name));
		var r24 = q.win['24h'] || {};
		var rate = r24.answered_rate;
		var cls = rateClass(rate);
		var top = el('div', 'card-main');
		var hero = el('div', 'hero ' + cls);
		hero.appendChild(el('span', 'label', t('answered_rate') + ' · ' + t('window_24h')));
		hero.appendChild(tag(el('span', 'big value', fmtRate(rate)), 'answered_rate', site, name, '24h'));
		hero.appendChild(tag(el('span', 'state', stateText(cls)), 'answered_state', site, name, '24h'));
		top.appendChild(hero);
		var live = q.live || {};
		var now = el('div', 'live');
		now.appendChild(figure(t('calls_waiting'), fmtInt(live.calls_waiting), 'calls_waiting', site, name, 'live', 'bigfig'));
		now.appendChild(figure(t('longest_wait'), fmtDur(live.longest_wait_s), 'longest_wait_s', site, name, 'live', 'bigfig'));
		top.appendChild(now);
		card.appendChild(top);

		var row = el('div', 'row');
		['1h', '30d'].forEach(function (w) {
			var v = (q.win[w] || {}).answered_rate;
			row.appendChild(figure(t('answered_short') + ' ' + t('window_' + w), fmtRate(v), 'answered_rate', site, name, w, 'rate-' + rateClass(v)));
		});
		row.appendChild(figure(t('service_level') + ' ' + t('window_24h'), fmtRate(r24.service_level), 'service_level', site, name, '24h'));
		row.appendChild(figure(t('offered') + ' ' + t('window_24h'), fmtInt(r24.offered), 'offered', site, name, '24h'));
		row.appendChild(figure(t('answered') + ' ' + t('window_24h'), fmtInt(r24.answered), 'answered', site, name, '24h'));
		card.appendChild(row);

		var charts = el('div', 'charts');
		charts.appendChild(chart('hour', q.hour, site, name));
		charts.appendChild(chart('day', q.day, site, name));
		card.appendChild(charts);
		return card;
	}

	function mailCard(site, name, m) {
		var card = el('article', 'card mailbox');
		tag(card, 'mailbox', site, name);
		card.appendChild(el('h4', 'card-title', name));
		var live = m.live || {};
		var top = el('div', 'card-main');
		var hero = el('div', 'hero neutral');
		hero.appendChild(el('span', 'label', t('backlog')));
		hero.appendChild(tag(el('span', 'big value', fmtInt(live.backlog)), 'backlog', site, name, 'live'));
		top.appendChild(hero);
		var now = el('div', 'live');
		var old = figure(t('oldest'), fmtDur(live.oldest_unanswered_s), 'oldest_unanswered_s', site, name, 'live', 'bigfig');
		if (isNum(live.oldest_unanswered_business_s) && live.backlog > 0)
			old.appendChild(tag(el('span', 'sub', fmtDur(live.oldest_unanswered_business_s) + ' ' + t('oldest_business')),
			                    'oldest_unanswered_business_s', site, name, 'live'));
		now.appendChild(old);
		top.appendChild(now);
		card.appendChild(top);

		var row = el('div', 'row');
		['24h', '30d'].forEach(function (w) {
			var r = m.win[w] || {};
			row.appendChild(figure(t('ack_short') + ' ' + t('window_' + w), fmtRate(r.ack_rate), 'ack_rate', site, name, w));
		});
		var r24 = m.win['24h'] || {};
		row.appendChild(figure(t('received') + ' ' + t('window_24h'), fmtInt(r24.received), 'received', site, name, '24h'));
		['24h', '30d'].forEach(function (w) {
			var r = m.win[w] || {};
			row.appendChild(figure(t('delay_short') + ' ' + t('window_' + w), fmtDur(r.reply_delay_avg_s), 'reply_delay_avg_s', site, name, w));
		});
		row.appendChild(figure(t('replied') + ' ' + t('window_24h'), fmtInt(r24.replied), 'replied', site, name, '24h'));
		var r30 = m.win['30d'] || {};
		row.appendChild(figure(t('reply_delay_business') + ' ' + t('window_30d'), fmtDur(r30.reply_delay_business_avg_s), 'reply_delay_business_avg_s', site, name, '30d', 'wide'));
		card.appendChild(row);
		return card;
	}

	function renderSites() {
		var sites = collect();
		var main = document.getElementById('sites');
		var frag = document.createDocumentFragment();
		var names = Object.keys(sites).sort(byName);
		if (!names.length && state.ind['24h'])
			frag.appendChild(el('p', 'muted', t('no_data')));
		names.forEach(function (site) {
			var sec = tag(el('section', 'site'), 'site', site);
			sec.appendChild(el('h2', 'site-title', site));
			var s = sites[site];
			var qn = Object.keys(s.queues).sort(byName);
			if (qn.length) {
				sec.appendChild(el('h3', 'kind', t('queues')));
				var grid = el('div', 'grid');
				qn.forEach(function (q) {
					grid.appendChild(queueCard(site, q, s.queues[q]));
				});
				sec.appendChild(grid);
			}
			var mn = Object.keys(s.mailboxes).sort(byName);
			if (mn.length) {
				sec.appendChild(el('h3', 'kind', t('mailboxes')));
				var mg = el('div', 'grid');
				mn.forEach(function (m) {
					mg.appendChild(mailCard(site, m, s.mailboxes[m]));
				});
				sec.appendChild(mg);
			}
			frag.appendChild(sec);
		});
		main.replaceChildren(frag);
	}

	var LEVEL_ORDER = {critical: 0, warning: 1, ok: 2};

	function byLevel(a, b) {
		var la = LEVEL_ORDER[a.level] === undefined ? 3 : LEVEL_ORDER[a.level];
		var lb = LEVEL_ORDER[b.level] === undefined ? 3 : LEVEL_ORDER[b.level];
		if (la !== lb)
			return la - lb;
		return byName(String(a.since || ''), String(b.since || ''));
	}

	function levelText(level) {
		var k = 'level_' + level;
		var s = t(k);
		return s === k ? String(level || '').toUpperCase() : s;
	}

	function alertItem(a, status, atField) {
		var li = el('li', 'alert lvl-' + (a.level || 'none') + ' st-' + status);
		tag(li, 'alert', a.site || '', a.entity || '');
		li.setAttribute('data-rule', a.rule || '');
		li.setAttribute('data-level', a.level || '');
		li.setAttribute('data-status', status);
		li.appendChild(el('span', 'badge', levelText(a.level)));
		li.appendChild(el('span', 'what', (a.rule || '') + ' · ' + (a.site || '') + ' / ' + (a.entity || '')));
		var v = isNum(a.value) ? fmtFigure(a.figure, a.value) : (a.value_text || DASH);
		var av = tag(el('span', 'alert-value', v), 'alert_value', a.site || '', a.entity || '');
		av.setAttribute('data-rule', a.rule || '');
		av.setAttribute('data-status', status);
		li.appendChild(av);
		var when = a[atField];
		if (when) {
			var ms = Date.parse(when);
			var txt = atField === 'since' && isFinite(ms)
			        ? t('since') + fmtDur((Date.now() - ms) / 1000)
			        : fmtDateTime(when);
			li.appendChild(el('span', 'when', txt));
		}
		if (a.action)
			li.appendChild(el('span', 'action', a.action));
		return li;
	}

	function renderAlerts() {
		var body = document.getElementById('alerts-body');
		var sec = document.getElementById('alerts');
		var a = state.alerts;
		if (!a)
			return;
		var frag = document.createDocumentFragment();
		var firing = (a.firing || []).filter(function (x) {
			return wanted(x.site);
		}).sort(byLevel);
		var pending = (a.pending || []).filter(function (x) {
			return wanted(x.site);
		}).sort(byLevel);
		var silenced = (a.silenced || []).filter(function (x) {
			return wanted(x.site);
		}).sort(byLevel);
		sec.className = 'alerts' + (firing.some(function (x) {
			return x.level === 'critical';
		}) ? ' has-critical' : firing.length ? ' has-warning' : '');
		if (!firing.length && !pending.length && !silenced.length)
			frag.appendChild(tag(el('p', 'muted no-alert', t('no_alerts')), 'alerts_none', SITE || ''));
		[[firing, 'firing'], [pending, 'pending'], [silenced, 'silenced']].forEach(function (p) {
			if (!p[0].length)
				return;
			frag.appendChild(el('h3', 'alert-kind', t(p[1]) + ' (' + p[0].length + ')'));
			var ul = el('ul', 'alert-list');
			p[0].forEach(function (x) {
				ul.appendChild(alertItem(x, p[1], 'since'));
			});
			frag.appendChild(ul);
		});
		var recent = (a.recent || []).filter(function (x) {
			return wanted(x.site);
		}).slice(0, 8);
		if (recent.length) {
			var det = el('details', 'recent');
			det.appendChild(el('summary', null, t('recent') + ' (' + recent.length + ')'));
			var ul = el('ul', 'alert-list');
			recent.forEach(function (x) {
				ul.appendChild(alertItem(x, 'recent', 'at'));
			});
			det.appendChild(ul);
			frag.appendChild(det);
		}
		body.replaceChildren(frag);
	}

	function freshness(c) {
		var ms = c.last_line_at ? Date.parse(c.last_line_at) : NaN;
		if (!isFinite(ms))
			return {cls: 'none', age: null};
		var age = Math.max(0, (Date.now() - ms) / 1000);
		return {cls: age < FRESH_OK_S ? 'ok' : age <= FRESH_WARN_S ? 'warn' : 'bad', age: age};
	}

	function renderSources() {
		var body = document.getElementById('sources-body');
		var st = state.status;
		if (!st)
			return;
		var table = el('table', 'src');
		var head = el('tr');
		['site', 'collector', 'type', 'last_line', 'freshness', 'rejected', 'lag'].forEach(function (k) {
			head.appendChild(el('th', null, t(k)));
		});
		var thead = el('thead');
		thead.appendChild(head);
		table.appendChild(thead);
		var tb = el('tbody');
		(st.collectors || []).filter(function (c) {
			return wanted(c.site);
		}).forEach(function (c) {
			var f = freshness(c);
			var tr = el('tr', 'fresh-' + f.cls);
			tr.appendChild(el('td', null, c.site));
			var name = el('td', 'src-name', c.name);
			name.title = c.source || '';
			tr.appendChild(name);
			tr.appendChild(el('td', null, c.type));
			tr.appendChild(tag(el('td', null, f.age === null ? DASH : fmtAgo(f.age)), 'last_line_age', c.site, c.name));
			var stt = tag(el('td', 'fresh'), 'freshness', c.site, c.name);
			stt.setAttribute('data-state', f.cls);
			stt.textContent = t(f.cls === 'ok' ? 'fresh_ok' : f.cls === 'warn' ? 'fresh_warn' : f.cls === 'bad' ? 'fresh_bad' : 'fresh_none');
			tr.appendChild(stt);
			tr.appendChild(tag(el('td', 'num', fmtInt(c.lines_rejected)), 'lines_rejected', c.site, c.name));
			tr.appendChild(tag(el('td', 'num', fmtBytes(c.lag_bytes)), 'lag_bytes', c.site, c.name));
			tb.appendChild(tr);
		});
		table.appendChild(tb);
		body.replaceChildren(table);
		var foot = document.getElementById('footer');
		foot.replaceChildren(el('span', null, 'reachd ' + t('version') + ' ' + (st.version || '?') +
		                                          (st.started_at ? ' · ' + t('started') + fmtDateTime(st.started_at) : '')));
	}

	/* Banners: one line per distinct problem; the page keeps its last data. */
	function renderBanners() {
		var msgs = [];
		var seen = {};
		function add(kind, text) {
			if (seen[text])
				return;
			seen[text] = 1;
			msgs.push([kind, text]);
		}
		var st = state.status;
		if (st && st.postgres === 'disconnected')
			add('pg', t('pg_down'));
		if (st && st.redis === 'disconnected')
			add('redis', t('redis_down'));
		Object.keys(state.errors).sort(byName).forEach(function (key) {
			var e = state.errors[key];
			if (e.status === 0)
				add('net', t('server_down'));
			else if (e.status === 401 || e.status === 403)
				add('auth', t('unauthorized'));
			else if (e.status === -1)
				add('page', t('page_error') + ' : ' + e.message);
			else if (/postgres/i.test(e.message || ''))
				add('pg', t('pg_down'));
			else if (/redis/i.test(e.message || ''))
				add('redis', t('redis_down'));
			else
				add('api', t('api_error') + ' (' + key + ', HTTP ' + e.status + ') : ' + e.message);
		});
		var box = document.getElementById('banners');
		var frag = document.createDocumentFragment();
		msgs.forEach(function (m) {
			var p = el('p', 'banner banner-error', m[1]);
			p.setAttribute('data-banner', m[0]);
			frag.appendChild(p);
		});
		box.replaceChildren(frag);

		var conn = document.getElementById('conn');
		var bad = Object.keys(state.errors).length > 0;
		conn.textContent = bad ? t('stale') : t('live');
		conn.setAttribute('data-state', bad ? 'stale' : 'live');
		conn.className = 'conn ' + (bad ? 'conn-stale' : 'conn-live');
		document.getElementById('updated').textContent = state.lastOk ? t('updated') + fmtClock(state.lastOk) : '';
	}

	function renderStatic() {
		document.title = 'reachd – ' + t('title');
		var nodes = document.querySelectorAll('[data-i18n]');
		for (var i = 0; i < nodes.length; i++)
			nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
	}

	function render() {
		delete state.errors.render;
		renderStatic();
		renderBanners();
		renderAlerts();
		renderSites();
		renderSources();
		document.body.setAttribute('data-ready', 'true');
	}

	/* Load, then render; a failure anywhere (even in render) becomes a banner,
	 * and the returned promise always resolves, so refreshes go on. */
	function guarded(fn) {
		return function () {
			return fn().then(render).catch(function (e) {
				state.errors.render = new ApiError(String(e && e.message || e), -1, null);
				try {
					renderBanners();
				} catch (e2) {
					/* nothing more can be shown */
				}
			});
		};
	}

	var fast = guarded(loadFast);
	var slow = guarded(loadSlow);

	function start() {
		/* the status first (it sets the language), then the windows and series;
		 * an error anywhere shows a banner and never stops the refreshes */
		fast().then(slow);
		window.setInterval(fast, FAST_MS);
		window.setInterval(slow, SLOW_MS);
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
}());
