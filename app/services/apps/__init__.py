"""Apps: Apps and Books licences, and app lists as policy.

Which apps a device gets is policy: ``app:<App Store id>`` settings in the
usual layers (``profiles.payloads.app``), with the same locks, provenance,
preview, history and restore. This package does the rest:

* ``connection`` — the content token (sealed), claiming the location, expiry warnings;
* ``catalogue`` — syncing Apple's assets, store metadata and assignments;
* ``licences`` — the worker that assigns and releases licences in Apple's batches;
* ``stage`` — the apps stage of the policy reconciler (licence intents, app commands);
* ``reports`` — what devices report (ManagedApplicationList, InstalledApplicationList);
* ``notifications`` — what Apple posts to Flokk;
* ``overview`` — what the CLI, the API and the dashboard show.
"""
