"""Orthanc Explorer button for orthanc-research-bridge (Orthanc Python plugin).

Adds "Send to research" to the study page (and "Send all studies to research" to the patient
page) of Orthanc Explorer 1.10, and shows the study's state there. The browser only talks to
this Orthanc: the plugin's REST routes forward to the bridge API with a token the browser never
sees.

Configuration (clinical Orthanc config, section "ResearchBridge"):
  "Url"                 bridge API base URL            (default http://127.0.0.1:8099)
  "TokenFile"           file holding the bridge operator token
  "ExplorerMetadataKey" study metadata key set when the button is used (default 1025)
Environment (wins over the file): RESEARCH_BRIDGE_URL, RESEARCH_BRIDGE_TOKEN.
"""

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import orthanc

_CONFIG = json.loads(orthanc.GetConfiguration()).get("ResearchBridge", {})
BRIDGE_URL = os.environ.get("RESEARCH_BRIDGE_URL", _CONFIG.get("Url", "http://127.0.0.1:8099")).rstrip("/")
FLAG_KEY = int(_CONFIG.get("ExplorerMetadataKey", 1025))
ORTHANC_ID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{8}){4}")  # used with fullmatch: "$" would accept a trailing newline


def _token():
    token = os.environ.get("RESEARCH_BRIDGE_TOKEN")
    if token:
        return token.strip()
    path = _CONFIG.get("TokenFile")
    if path:
        with open(path, "r", encoding="utf-8") as f:
            return f.read().strip()
    return ""


def _bridge(method, path):
    """Calls the bridge API; answers (status, body bytes). Never forwards the token to the browser.

    What went wrong is told apart for the operator: no token configured here, the token refused by
    the bridge (it is up: the token is wrong), or the bridge not reachable at all. The first two
    answer 502, not 401: a 401 from Orthanc would make the browser ask the user for a password.
    """
    token = _token()
    if not token:
        return 502, json.dumps(
            {"error": "this Orthanc has no token for the bridge: set RESEARCH_BRIDGE_TOKEN or ResearchBridge.TokenFile"}
        ).encode()
    request = urllib.request.Request(
        BRIDGE_URL + path,
        method=method,
        data=b"" if method == "POST" else None,
        headers={"Authorization": "Bearer " + token, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            return 502, json.dumps(
                {"error": "the bridge refused this Orthanc's token: it must be the bridge's operator API token"}
            ).encode()
        return e.code, e.read()
    except Exception:  # connection refused, timeout: say so without details
        return 502, json.dumps({"error": "the research bridge cannot be reached"}).encode()


def _answer(output, status, body):
    if 200 <= status < 300:
        output.AnswerBuffer(body, "application/json")
    else:
        # orthanc-python 4.0 takes the body as str with its length in bytes.
        text = body.decode("utf-8", "replace")
        output.SendHttpStatus(status, text, len(text.encode("utf-8")))


def _error(output, status, message):
    _answer(output, status, json.dumps({"error": message}).encode())


def _cross_site(request):
    """Why a state-changing request must be refused as cross-site, or None.

    Orthanc Explorer calls these routes with jQuery, which sets X-Requested-With; Orthanc Explorer 2
    calls them from a configured custom button (axios, no X-Requested-With), and the browser says
    the request is same-origin in Sec-Fetch-Site and Origin, headers a page cannot set. A form or a
    script on another site gets Sec-Fetch-Site "cross-site" (or "same-site") and its own Origin, and
    a script that sets X-Requested-With needs a CORS preflight that Orthanc never grants. A request
    with none of these signs (no browser, or an old one) is refused, as before.
    """
    headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
    site = headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        return "Sec-Fetch-Site is " + site
    origin = headers.get("origin")
    same_origin = origin is not None and urllib.parse.urlsplit(origin).netloc == headers.get("host", "")
    if origin and not same_origin:
        return "the Origin is another site"
    if headers.get("x-requested-with", "") == "XMLHttpRequest" or site == "same-origin" or same_origin:
        return None
    return "the request does not come from Orthanc Explorer (no X-Requested-With, Sec-Fetch-Site or Origin)"


def _send_study(study_id):
    # The flag lets routing rules tell a study sent by hand from one the change feed found.
    try:
        orthanc.RestApiPut("/studies/%s/metadata/%d" % (study_id, FLAG_KEY), "1")
    except orthanc.OrthancException:
        return 404, json.dumps({"error": "no such study"}).encode()
    return _bridge("POST", "/api/studies/%s/process" % study_id)


def on_study(output, uri, **request):
    study_id, action = request["groups"]
    if not ORTHANC_ID.fullmatch(study_id):
        _error(output, 400, "not an Orthanc study ID")
        return
    if action == "send":
        if request["method"] != "POST":
            output.SendMethodNotAllowed("POST")
            return
        refused = _cross_site(request)
        if refused:
            _error(output, 403, "refused: " + refused)
            return
        status, body = _send_study(study_id)
    else:
        if request["method"] != "GET":
            output.SendMethodNotAllowed("GET")
            return
        status, body = _bridge("GET", "/api/studies/%s" % study_id)
    _answer(output, status, body)


def on_patient(output, uri, **request):
    patient_id = request["groups"][0]
    if request["method"] != "POST":
        output.SendMethodNotAllowed("POST")
        return
    if not ORTHANC_ID.fullmatch(patient_id):
        _error(output, 400, "not an Orthanc patient ID")
        return
    refused = _cross_site(request)
    if refused:
        _error(output, 403, "refused: " + refused)
        return
    try:
        studies = json.loads(orthanc.RestApiGet("/patients/%s" % patient_id))["Studies"]
    except orthanc.OrthancException:
        _error(output, 404, "no such patient")
        return
    results = {}
    worst = 200
    for study_id in studies:
        status, body = _send_study(study_id)
        results[study_id] = status
        worst = max(worst, status)
    _answer(output, 200 if worst < 300 else worst, json.dumps({"studies": results}).encode())


EXPLORER_JS = r"""
(function () {
  function stateText(s) {
    if (!s || s.state === 'not-sent') return 'Research: not sent';
    var t = 'Research: ' + s.state;
    if (s.quarantine && s.quarantine.length) t += ' (' + s.quarantine.length + ' instance(s) in quarantine: ' + s.quarantine[0].reason + ')';
    else if (s.reason) t += ' (' + s.reason + ')';
    return t;
  }
  // The plugin's own words for what failed (no token, token refused, bridge unreachable).
  function failure(x) {
    return (x && x.responseJSON && x.responseJSON.error) || 'the bridge cannot be reached';
  }
  function showState(studyId, polls) {
    $.ajax({ url: '../research-bridge/studies/' + studyId + '/state', dataType: 'json', cache: false })
      .done(function (s) {
        $('#research-bridge-state').text(stateText(s));
        var links = $('#research-bridge-links').empty();
        $.each(s.destinations || [], function (_, d) {
          links.append($('<a>').attr('href', d.explorerUrl).attr('target', '_blank').attr('class', 'research-bridge-link')
            .text('Open in ' + d.destination));
        });
        if ((s.state === 'queued' || s.state === 'running') && polls < 120) {
          setTimeout(function () { showState(studyId, polls + 1); }, 1000);
        }
      })
      .fail(function (x) { $('#research-bridge-state').text('Research: ' + failure(x)); });
  }
  function block(id, label) {
    return $('<ul data-role="listview" data-inset="true" data-theme="d" data-divider-theme="c">')
      .append('<li data-role="list-divider">Research</li>')
      .append($('<li data-icon="forward">').append($('<a href="#">').attr('id', id).text(label)))
      .append('<li><span id="research-bridge-state">Research: ...</span><div id="research-bridge-links"></div></li>');
  }
  $('#study').live('pagebeforecreate', function () {
    block('research-bridge-send', 'Send to research').insertAfter($('#study-delete').closest('ul'));
    $('#research-bridge-send').live('click', function (e) {
      e.preventDefault();
      var studyId = $.mobile.pageData.uuid;
      $('#research-bridge-state').text('Research: sending...');
      $.ajax({ url: '../research-bridge/studies/' + studyId + '/send', type: 'POST', dataType: 'json' })
        .always(function () { showState(studyId, 0); });
    });
  });
  $('#study').live('pagebeforeshow', function () { showState($.mobile.pageData.uuid, 0); });
  $('#patient').live('pagebeforecreate', function () {
    $('<ul data-role="listview" data-inset="true" data-theme="d" data-divider-theme="c">')
      .append('<li data-role="list-divider">Research</li>')
      .append($('<li data-icon="forward">').append($('<a href="#" id="research-bridge-send-patient">').text('Send all studies to research')))
      .append('<li><span id="research-bridge-patient-state"></span></li>')
      .insertAfter($('#patient-delete').closest('ul'));
    $('#research-bridge-send-patient').live('click', function (e) {
      e.preventDefault();
      $.ajax({ url: '../research-bridge/patients/' + $.mobile.pageData.uuid + '/send', type: 'POST', dataType: 'json' })
        .done(function (r) { $('#research-bridge-patient-state').text('Queued ' + Object.keys(r.studies).length + ' study(ies) for research'); })
        .fail(function (x) { $('#research-bridge-patient-state').text('Research: ' + failure(x)); });
    });
  });
})();
"""

orthanc.RegisterRestCallback("/research-bridge/studies/(.*)/(send|state)", on_study)
orthanc.RegisterRestCallback("/research-bridge/patients/(.*)/send", on_patient)
orthanc.ExtendOrthancExplorer(EXPLORER_JS)
