"""Use cases. Each receives a session (and the acting principal); none commits.

Grouped by feature:

- ``access``: the tenancy choke point, admin accounts, sign-in, API tokens,
  single sign-on rules and approvals (who may do what, where);
- ``fleet``: schools, groups and devices as admins see them;
- ``mdm``: Apple's MDM protocol served over the database (enrolment, check-in,
  the command queue, push, scheduler jobs);
- ``pki``: Flokk's CA, the certificates it issued, SCEP, the push certificate;
- ``policy``: policy layers, effective policy, reconciliation, profile signing.

``audit`` writes and ``audit_trail`` reads the audit log; ``bulk`` holds
statements over many rows; ``setup`` is ``flokk init``.
"""
