"""Apple School Manager: Automated Device Enrollment, from the server token to a supervised iPad at its school.

- ``keys``: the key pair ASM encrypts server tokens to (central IT uploads its certificate);
- ``tokens``: importing, listing and warning about server tokens (sealed at rest);
- ``sync``: fetching and syncing the devices ASM assigned to Flokk (resumable, per page);
- ``assignment``: which school (and class) expects each device: rules, CSV, by hand;
- ``profiles``: the ADE profile each school gets at Apple, and assigning it to the school's serials;
- ``devices``: the expected devices as central IT and ICT contacts see them;
- ``enrolment``: the profile URL an iPad calls in Setup Assistant, and the MDM store's hooks
  (supervised/ADE flags, DeviceConfigured, the Activation Lock bypass code).

The pure wire format lives in :mod:`mdm_protocol.asm`.
"""
