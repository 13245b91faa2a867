// The time grid: the month, week and day views drawn by EventCalendar
// (vendored, MIT) from /calendar/feed, with drag to move, drag to resize,
// click or drag on empty time to create, and a popover per event. Without
// JavaScript the server's own views below it stay, and work the same.
(function () {
  'use strict';
  var root = document.getElementById('grid');
  if (!root || typeof EventCalendar === 'undefined') return;
  var data = root.dataset;
  var status = document.getElementById('grid-status');
  var popover = document.getElementById('event-popover');
  var creator = document.getElementById('grid-create');
  var views = { month: 'dayGridMonth', week: 'timeGridWeek', day: 'timeGridDay' };

  // The grid runs at the reader zone's offset (so the now-line is right).
  // The feed's times are wall times in that zone, and the grid hands them
  // back as Dates whose local fields are those wall times.
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function wall(date) {
    return date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate()) +
      'T' + two(date.getHours()) + ':' + two(date.getMinutes());
  }
  function day(date) { return wall(date).slice(0, 10); }

  function say(message, undo) {
    status.hidden = false;
    status.querySelector('span').textContent = message;
    var button = status.querySelector('button');
    button.hidden = !undo;
    button.onclick = undo ? function () { undo(); } : null;
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields);
    body.set('csrf', data.csrf);
    body.set('tz', data.zone);
    return fetch(url, { method: 'POST', body: body, credentials: 'same-origin' }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) throw new Error(json.error || 'The change could not be saved (' + response.status + ').');
        return json;
      });
    });
  }

  // A drag or a resize: the new times, at the ETag the grid was given.
  function reschedule(info) {
    var event = info.event, p = event.extendedProps;
    var fields = {
      calendar: p.calendar, item: p.item, etag: p.etag,
      occurrence: p.occurrence === null ? '' : String(p.occurrence),
      all_day: event.allDay ? '1' : '',
      start: event.allDay ? day(event.start) : wall(event.start),
      end: event.allDay ? day(event.end || event.start) : wall(event.end || event.start)
    };
    post('/calendar/api/reschedule', fields).then(function () {
      say('Saved: “' + event.title + '” now ' + (event.allDay ? 'on ' + fields.start : 'at ' + fields.start.replace('T', ' ')) + '.');
      calendar.refetchEvents();
    }, function (error) {
      info.revert();
      say(error.message);
      calendar.refetchEvents();
    });
  }

  function fill(list, items, text) {
    list.textContent = '';
    items.forEach(function (item) {
      var li = document.createElement('li');
      li.textContent = text(item);
      list.appendChild(li);
    });
    list.parentNode.hidden = items.length === 0;
  }

  function showPopover(event) {
    var p = event.extendedProps;
    popover.querySelector('#popover-title').textContent = event.title;
    popover.querySelector('.popover-time').textContent = (event.allDay ? day(event.start) : wall(event.start).replace('T', ' ')) + ' · ' + p.time + (p.recurring ? ' · repeats' : '');
    popover.querySelector('.popover-calendar').textContent = 'Calendar: ' + p.calendar_name;
    var location = popover.querySelector('.popover-location');
    location.textContent = p.location ? 'Where: ' + p.location : '';
    location.hidden = !p.location;
    var description = popover.querySelector('.popover-description');
    description.textContent = p.description;
    description.hidden = !p.description;
    fill(popover.querySelector('.popover-people ul'), p.people, function (person) { return person.name + ' — ' + person.answer; });
    fill(popover.querySelector('.popover-reminders ul'), p.reminders, function (r) { return r; });
    var edit = popover.querySelector('.popover-edit');
    edit.href = p.edit;
    edit.textContent = p.kind === 'task' ? 'Open tasks' : 'Edit';
    var duplicate = popover.querySelector('.popover-duplicate');
    duplicate.hidden = p.kind !== 'event' || !event.editable;
    duplicate.action = '/calendar/events/' + encodeURIComponent(p.calendar) + '/' + encodeURIComponent(p.item) + '/duplicate';
    var remove = popover.querySelector('.popover-delete');
    remove.hidden = p.kind !== 'event' || !event.editable;
    remove.textContent = p.recurring ? 'Delete this occurrence' : 'Delete';
    remove.onclick = function () { popover.close(); deleteEvent(event); };
    popover.showModal();
    edit.focus();
  }

  // Deleting asks nothing: it says what went, with Undo.
  function deleteEvent(event) {
    var p = event.extendedProps;
    post('/calendar/api/delete', {
      calendar: p.calendar, item: p.item, etag: p.etag,
      occurrence: p.occurrence === null ? '' : String(p.occurrence)
    }).then(function (answer) {
      calendar.refetchEvents();
      say('Deleted “' + event.title + '”.', function () {
        post('/calendar/api/restore', answer.undo).then(function () {
          say('Put back “' + event.title + '”.');
          calendar.refetchEvents();
        }, function (error) { say(error.message); });
      });
    }, function (error) {
      say(error.message);
      calendar.refetchEvents();
    });
  }

  function showCreator(info) {
    var form = creator.querySelector('form');
    var end = info.end;
    var fields = {
      start_date: day(info.start), start_time: info.allDay ? '' : wall(info.start).slice(11),
      end_date: info.allDay ? day(new Date(end.getTime() - 86400000)) : day(end),
      end_time: info.allDay ? '' : wall(end).slice(11), all_day: info.allDay ? 'yes' : ''
    };
    Object.keys(fields).forEach(function (name) { form.elements[name].value = fields[name]; });
    creator.querySelector('.create-when').textContent = info.allDay
      ? (fields.start_date === fields.end_date ? fields.start_date : fields.start_date + ' – ' + fields.end_date) + ', all day'
      : fields.start_date + ' ' + fields.start_time + ' – ' + (fields.end_date === fields.start_date ? '' : fields.end_date + ' ') + fields.end_time;
    var more = new URLSearchParams({ date: fields.start_date, start: fields.start_time, end: fields.end_time, end_date: fields.end_date, all_day: fields.all_day });
    creator.querySelector('.create-more').href = '/calendar/new?' + more.toString();
    form.elements.title.value = '';
    creator.showModal();
    form.elements.title.focus();
  }
  creator.querySelector('.create-cancel').addEventListener('click', function () { creator.close(); });
  creator.addEventListener('close', function () { calendar.unselect(); });
  popover.querySelector('.popover-close').addEventListener('click', function () { popover.close(); });

  // EventCalendar's table roles are incomplete (axe: aria-required-children,
  // aria-required-parent): the grid reads as plain text, its events as
  // buttons, and its scrolling part is a named region one can focus.
  var tableRoles = /^(table|grid|row|rowgroup|rowheader|columnheader|cell|gridcell|list|listitem)$/;
  function plainRoles() {
    root.querySelectorAll('[role], [aria-colindex], [aria-rowindex]').forEach(function (element) {
      if (element.hasAttribute('role') && !tableRoles.test(element.getAttribute('role'))) return;
      element.removeAttribute('role');
      Array.prototype.slice.call(element.attributes).forEach(function (attribute) {
        if (/^aria-/.test(attribute.name) && attribute.name !== 'aria-hidden') element.removeAttribute(attribute.name);
      });
    });
    var main = root.querySelector('.ec-main');
    if (main && !main.hasAttribute('tabindex')) {
      main.tabIndex = 0;
      main.setAttribute('role', 'region');
      main.setAttribute('aria-label', 'Calendar');
    }
  }
  new MutationObserver(plainRoles).observe(root, { childList: true, subtree: true });

  root.hidden = false;
  var fallback = document.querySelector('.calendar-static');
  if (fallback) fallback.hidden = true;
  var calendar = EventCalendar.create(root, {
    view: views[data.view] || 'timeGridWeek',
    date: data.date,
    timeZone: data.offset || 'UTC',
    firstDay: 1,
    headerToolbar: { start: '', center: '', end: '' },
    height: data.view === 'month' ? 'auto' : '720px',
    scrollTime: '08:00:00',
    nowIndicator: true,
    // Overlapping events side by side, not stacked.
    slotEventOverlap: false,
    editable: true,
    selectable: true,
    dayMaxEvents: true,
    eventTimeFormat: { hour: '2-digit', minute: '2-digit', hour12: false },
    slotLabelFormat: { hour: '2-digit', minute: '2-digit', hour12: false },
    eventSources: [{
      url: '/calendar/feed',
      extraParams: { tz: data.zone, show: data.show }
    }],
    eventDrop: reschedule,
    eventResize: reschedule,
    eventClick: function (info) { showPopover(info.event); },
    select: showCreator,
    dateClick: function (info) {
      // A click on empty time: an hour from there.
      var end = new Date(info.date.getTime() + (info.allDay ? 86400000 : 3600000));
      showCreator({ start: info.date, end: end, allDay: info.allDay });
    }
  });
  root.calendar = calendar;
})();
