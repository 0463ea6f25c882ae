"""Apple School Manager: Automated Device Enrollment (ADE) without Flask or a database.

- :mod:`.token`: the server token (``.p7m``) decrypted into OAuth credentials;
- :mod:`.client`: Apple's device enrollment API (session, fetch/sync, profiles);
- :mod:`.profile`: the ADE profile Flokk defines at Apple per school;
- :mod:`.machine_info`: the signed MachineInfo an iPad posts in Setup Assistant.
"""
