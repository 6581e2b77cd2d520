// OrbitRepos UI: the little the server-rendered pages cannot do alone. Every page works without it
// except the upload form, which needs XMLHttpRequest for its progress bar.

(function () {
  function $(sel, root) {
    return (root || document).querySelector(sel);
  }
  function $$(sel, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(sel));
  }

  // Copy buttons: data-copy names the element whose value or text is copied.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'offscreen';
    document.body.appendChild(ta);
    ta.select();
    var ok = document.execCommand('copy');
    document.body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error('copy refused'));
  }
  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest?.('[data-copy]');
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute('data-copy'));
    if (!el) return;
    var text = 'value' in el && el.tagName !== 'PRE' ? el.value : el.textContent;
    copyText(text).then(
      function () {
        btn.textContent = 'Copied';
        btn.classList.add('done');
        setTimeout(function () {
          btn.textContent = 'Copy';
          btn.classList.remove('done');
        }, 1500);
      },
      function () {
        if (el.select) el.select();
        btn.textContent = 'Press Ctrl+C';
      },
    );
  });

  // Fields that only concern one repository type are hidden for the others (shown all without script).
  function syncType(form) {
    var select = $('select[name="type"]', form);
    if (!select) return;
    $$('[data-show-for]', form).forEach(function (el) {
      var show = el.getAttribute('data-show-for').split(' ').indexOf(select.value) >= 0;
      el.hidden = !show;
    });
    // Anonymous read defaults to on for proxies only, as the server does, until the person picks.
    var anon = $('input[name="anonymousRead"][data-follow-type]', form);
    if (anon && !anon.dataset.touched) anon.checked = select.value === 'proxy';
  }
  $$('form').forEach(function (form) {
    var select = $('select[name="type"]', form);
    if (!select) return;
    select.addEventListener('change', function () {
      syncType(form);
    });
    var anon = $('input[name="anonymousRead"][data-follow-type]', form);
    if (anon)
      anon.addEventListener('change', function () {
        anon.dataset.touched = '1';
      });
    syncType(form);
  });

  // Forms that destroy something ask first.
  document.addEventListener('submit', function (ev) {
    var msg = ev.target.getAttribute?.('data-confirm');
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });

  // Go's module proxy protocol spells upper-case letters as "!" + lower-case (case-insensitive file systems).
  function goEscape(s) {
    return s.replace(/[A-Z]/g, function (c) {
      return '!' + c.toLowerCase();
    });
  }
  function segments(path) {
    return path.split('/').map(encodeURIComponent).join('/');
  }

  var upload = $('#upload-form');
  if (upload) {
    upload.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var module = upload.elements.module.value.trim();
      var version = upload.elements.version.value.trim();
      var file = upload.elements.file.files[0];
      var status = $('#upload-status');
      var error = $('#upload-error');
      var bar = $('#upload-progress');
      error.textContent = '';
      error.hidden = true;
      if (!module || !version || !file) {
        error.textContent = 'Enter the module path and version, and choose a .zip file.';
        error.hidden = false;
        return;
      }
      var target =
        upload.getAttribute('data-endpoint') + segments(goEscape(module)) + '/@v/' + encodeURIComponent(goEscape(version)) + '.zip';
      var xhr = new XMLHttpRequest();
      xhr.open('PUT', target);
      xhr.setRequestHeader('Content-Type', 'application/zip');
      // The session cookie rides along (same origin); the CSRF token proves the page is ours.
      xhr.setRequestHeader('X-CSRF-Token', upload.elements._csrf.value);
      bar.hidden = false;
      bar.value = 0;
      status.textContent = 'Uploading…';
      upload.setAttribute('aria-busy', 'true');
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = 'Uploading… ' + Math.round((100 * e.loaded) / e.total) + '%';
      };
      xhr.onload = function () {
        upload.removeAttribute('aria-busy');
        if (xhr.status >= 200 && xhr.status < 300) {
          status.textContent = 'Uploaded ' + module + '@' + version + '.';
          window.location.assign(
            upload.getAttribute('data-after') + '?module=' + encodeURIComponent(module) + '&uploaded=' + encodeURIComponent(version),
          );
          return;
        }
        bar.hidden = true;
        status.textContent = '';
        error.textContent = (xhr.responseText || 'upload failed with HTTP ' + xhr.status).trim();
        error.hidden = false;
      };
      xhr.onerror = function () {
        upload.removeAttribute('aria-busy');
        bar.hidden = true;
        status.textContent = '';
        error.textContent = 'The upload did not reach the server (network error).';
        error.hidden = false;
      };
      xhr.send(file);
    });
  }
})();
