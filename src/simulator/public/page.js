// The web simulator's page: plain browser JavaScript, no build step. It posts what Twilio would
// post for one message (src/simulator/routes.ts puts it through the webhook's own pipeline) and
// polls the feed for what the bot sent: chat replies as the channel renders them, and the SMS
// that reached the simulated phone.
'use strict';

(() => {
  /** How often the page asks for messages sent after a turn (a late reply, an SMS). */
  const POLL_MS = 1000;
  const E164 = /^\+[1-9]\d{7,14}$/;

  const state = {
    labels: {},
    locale: 'fr',
    cities: [],
    channel: 'whatsapp',
    phone: '',
    /** The last feed entry shown (or skipped): the feed is asked for what came after. */
    after: 0,
    inbox: 'outbox',
  };
  let polling = Promise.resolve();

  const $ = (id) => document.getElementById(id);

  /** A label of the page in its language (locales/<l>/simulator.json), placeholders filled. */
  function label(key, vars = {}) {
    const text = (state.labels[state.locale] || {})[key] || key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }

  function applyLabels() {
    const root = document.documentElement;
    root.lang = state.locale;
    root.dir = state.locale === 'ar' ? 'rtl' : 'ltr';
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = label(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = label(el.dataset.i18nPlaceholder);
    for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', label(el.dataset.i18nAriaLabel));
    for (const button of document.querySelectorAll('button.lang')) button.setAttribute('aria-pressed', String(button.dataset.locale === state.locale));
    $('inbox-hint').textContent = label(state.inbox === 'twilio' ? 'simulator.inboxByTwilio' : 'simulator.inboxHint');
    const city = $('city');
    const chosen = city.value;
    city.replaceChildren(...state.cities.map((c) => new Option(state.locale === 'ar' ? c.ar : c.fr, c.code)));
    if (chosen) city.value = chosen;
  }

  /** The direction of a message from its first strong letter: Arabic right to left, Latin left to right. */
  function directionOf(text) {
    const first = /[\p{Script=Arabic}\p{Script=Latin}]/u.exec(text);
    return first && /\p{Script=Arabic}/u.test(first[0]) ? 'rtl' : 'ltr';
  }

  /**
   * WhatsApp's own markup, as the app shows it: *bold*, _italic_, ~strikethrough~, ```monospace```.
   * Built as DOM nodes, never as HTML: the text is the bot's, but the page must not trust it.
   */
  function whatsappMarkup(text) {
    const fragment = document.createDocumentFragment();
    const markup = /```([\s\S]+?)```|(?<![\p{L}\p{N}])([*_~])(?!\s)([^\n]*?\S)\2(?![\p{L}\p{N}])/gu;
    const tags = { '*': 'strong', _: 'em', '~': 's' };
    let last = 0;
    for (const match of text.matchAll(markup)) {
      fragment.append(text.slice(last, match.index));
      const element = document.createElement(match[1] !== undefined ? 'code' : tags[match[2]]);
      element.textContent = match[1] !== undefined ? match[1] : match[3];
      fragment.append(element);
      last = match.index + match[0].length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function bubbleText(text, withMarkup) {
    const body = document.createElement('p');
    body.className = 'body';
    body.dir = directionOf(text);
    body.lang = body.dir === 'rtl' ? 'ar' : 'fr';
    body.append(withMarkup ? whatsappMarkup(text) : text);
    return body;
  }

  function cost(sms) {
    const line = document.createElement('small');
    line.className = 'cost';
    line.textContent = label('simulator.cost', sms);
    return line;
  }

  function appendTo(pane, element) {
    pane.querySelector('.empty')?.remove();
    pane.append(element);
    pane.scrollTop = pane.scrollHeight;
  }

  function showUserMessage(text) {
    const bubble = document.createElement('div');
    bubble.className = 'msg user';
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = `${label('simulator.you')} : `;
    bubble.append(who, bubbleText(text, false));
    appendTo($('chat'), bubble);
  }

  function showEntry(entry) {
    if (entry.pane === 'inbox') return showSms(entry);
    if (entry.pane !== state.channel) return;
    const bubble = document.createElement('div');
    bubble.className = 'msg bot';
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = `${label('simulator.bot')} : `;
    bubble.append(who, bubbleText(entry.body, entry.pane === 'whatsapp'));
    if (entry.buttons) {
      const chips = document.createElement('div');
      chips.className = 'chips';
      chips.setAttribute('role', 'group');
      chips.setAttribute('aria-label', label('simulator.buttons'));
      entry.buttons.forEach((title, i) => {
        const chip = document.createElement('button');
        chip.type = 'button';
        chip.className = 'chip';
        chip.dir = directionOf(title);
        chip.textContent = title;
        // A tap comes back as the button's id (its number) and its title (whatsappRenderer.ts).
        chip.addEventListener('click', () => send({ Body: title, ButtonText: title, ButtonPayload: String(i + 1), MessageType: 'button' }, title));
        chips.append(chip);
      });
      bubble.append(chips);
    }
    if (entry.sms) bubble.append(cost(entry.sms));
    appendTo($('chat'), bubble);
  }

  function showSms(entry) {
    const sms = document.createElement('article');
    sms.className = 'sms';
    const head = document.createElement('header');
    const time = new Date(entry.at);
    // An SMS sent to another number than this page's (a reset code to the account's phone) says so;
    // the number in a left-to-right isolate, so that its groups keep their order in Arabic.
    const sentTo = entry.sentTo ? ` · ${label('simulator.smsSentTo', { number: `\u2066${entry.sentTo}\u2069` })}` : '';
    head.textContent = `${label('simulator.smsFrom')}${sentTo} · ${time.toLocaleTimeString(state.locale === 'ar' ? 'ar-MA' : 'fr-MA', { hour: '2-digit', minute: '2-digit' })}`;
    sms.append(head, bubbleText(entry.body, false), cost(entry.sms));
    appendTo($('inbox'), sms);
  }

  /** A problem shows in the danger colour; a confirmation (`ok`) does not. */
  function setStatus(text, ok = false) {
    $('status').textContent = text;
    $('status').classList.toggle('ok', ok);
  }

  function clearPane(pane, emptyKey) {
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.dataset.i18n = emptyKey;
    empty.textContent = label(emptyKey);
    pane.replaceChildren(empty);
  }

  /** A Twilio message SID (SM + 32 hex): the webhook dedupes on it, so each message gets its own. */
  function messageSid() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return `SM${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  /** Posts one message as Twilio would post it, then shows what came back. */
  async function send(fields, shown) {
    if (!E164.test(state.phone)) {
      setStatus(label('simulator.badNumber'));
      $('phone').focus();
      return;
    }
    setStatus('');
    showUserMessage(shown);
    const whatsapp = state.channel === 'whatsapp';
    const form = new URLSearchParams({
      MessageSid: messageSid(),
      From: whatsapp ? `whatsapp:${state.phone}` : state.phone,
      Body: '',
      NumMedia: '0',
      ...(whatsapp ? { WaId: state.phone.slice(1), MessageType: 'text' } : {}),
      ...(whatsapp && $('profile-name').value.trim() ? { ProfileName: $('profile-name').value.trim() } : {}),
      ...fields,
    });
    try {
      const res = await fetch('/simulator/api/messages', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
      if (!res.ok) setStatus(label('simulator.refused', { reason: (await res.json().catch(() => ({}))).error || res.status }));
    } catch {
      setStatus(label('simulator.unreachable'));
    }
    await poll();
  }

  /** Fetches what the bot sent after the last entry shown; one request at a time. */
  function poll() {
    polling = polling.then(async () => {
      if (!E164.test(state.phone)) return;
      const query = new URLSearchParams({ phone: state.phone, channel: state.channel, after: String(state.after) });
      try {
        const res = await fetch(`/simulator/api/feed?${query}`);
        if (!res.ok) return;
        const { entries } = await res.json();
        for (const entry of entries) {
          if (entry.seq <= state.after) continue;
          state.after = entry.seq;
          showEntry(entry);
        }
      } catch {
        // The next poll tries again; the status line is for messages the user sent.
      }
    });
    return polling;
  }

  /** Another phone or channel: its conversation starts on a clean screen. */
  function startOver(lastSeq, { inbox = true } = {}) {
    if (typeof lastSeq === 'number') state.after = Math.max(state.after, lastSeq);
    clearPane($('chat'), 'simulator.empty');
    if (inbox) clearPane($('inbox'), 'simulator.inboxEmpty');
  }

  function setChannel(channel) {
    state.channel = channel;
    document.body.classList.toggle('channel-sms', channel === 'sms');
    document.body.classList.toggle('channel-whatsapp', channel === 'whatsapp');
    $('share-location').disabled = channel === 'sms';
  }

  async function setPhone(phone) {
    $('phone').value = phone;
    state.phone = phone;
    const res = await fetch('/simulator/api/setup');
    startOver((await res.json()).lastSeq);
  }

  function wire() {
    for (const button of document.querySelectorAll('button.lang')) {
      button.addEventListener('click', () => {
        state.locale = button.dataset.locale;
        localStorage.setItem('tasjil.simulator.locale', state.locale);
        applyLabels();
      });
    }
    for (const radio of document.querySelectorAll('input[name="channel"]')) {
      radio.addEventListener('change', () => {
        // Another channel is another conversation (the same phone's inbox stays).
        setChannel(radio.value);
        startOver(undefined, { inbox: false });
      });
    }
    $('settings').addEventListener('submit', (event) => event.preventDefault());
    $('phone').addEventListener('change', () => {
      const phone = $('phone').value.replace(/[\s.-]/g, '');
      if (!E164.test(phone)) return setStatus(label('simulator.badNumber'));
      setStatus('');
      void setPhone(phone);
    });
    $('new-user').addEventListener('click', async () => {
      const res = await fetch('/simulator/api/new-number');
      const { phone } = await res.json();
      await setPhone(phone);
      setStatus('');
      $('text').focus();
    });
    $('composer').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = $('text').value;
      if (!text.trim()) return;
      $('text').value = '';
      void send({ Body: text }, text);
    });
    $('share-location').addEventListener('click', () => {
      const city = state.cities.find((c) => c.code === $('city').value);
      if (!city) return;
      const name = state.locale === 'ar' ? city.ar : city.fr;
      // What WhatsApp posts for a pin: no Body, the coordinates, a label (webhook-request docs).
      void send({ Latitude: String(city.lat), Longitude: String(city.lon), Label: name, MessageType: 'location' }, label('simulator.location', { city: name }));
    });
    $('reset').addEventListener('click', async () => {
      if (!E164.test(state.phone)) return setStatus(label('simulator.badNumber'));
      await polling;
      const res = await fetch('/simulator/api/reset', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ phone: state.phone }) });
      if (!res.ok) return setStatus(label('simulator.refused', { reason: res.status }));
      startOver((await res.json()).lastSeq);
      setStatus(label('simulator.resetDone'), true);
      $('text').focus();
    });
  }

  async function start() {
    const setup = await (await fetch('/simulator/api/setup')).json();
    state.labels = setup.labels;
    state.cities = setup.cities;
    state.inbox = setup.inbox;
    state.after = setup.lastSeq;
    const saved = localStorage.getItem('tasjil.simulator.locale');
    state.locale = saved in setup.labels ? saved : navigator.language.startsWith('ar') ? 'ar' : 'fr';
    setChannel(document.querySelector('input[name="channel"]:checked').value);
    wire();
    applyLabels();
    setInterval(() => void poll(), POLL_MS);
  }

  document.addEventListener('DOMContentLoaded', () => void start());
})();
