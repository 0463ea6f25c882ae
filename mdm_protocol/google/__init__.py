"""Chromebooks through Google's Admin SDK Directory API and Chrome Policy API.

No Flask, no SQLAlchemy: a client for the wire format only. ``GoogleClient``
signs in as a service account with domain-wide delegation (acting as one
admin of the Google Workspace for Education domain), talks to the
Directory API (``chromeosdevices``, ``customer.devices.chromeos``,
``orgunits``, ``customers``) and the Chrome Policy API
(``customers.policies``) through google-api-python-client with the
discovery documents bundled in ``discovery/`` (no discovery call at run
time), retries 429 and 5xx answers with back-off, and turns Google's
``google.rpc.Status`` errors into the typed errors of ``errors``.

Modules: ``errors`` (typed errors), ``keys`` (the service account key file),
``transport`` (HTTPS, token, retries), ``client`` (the API calls),
``devices`` (a Chromebook as the Directory API describes it),
``commands`` (the Chromebook commands Flokk sends and their parameters),
``policies`` (Chrome Policy API request shapes).
"""
