"""Declarative Device Management (DDM): the server side of Apple's declarative protocol.

Implements Apple's *Integrating declarative management* (Device Management
documentation) over the check-in message ``DeclarativeManagement``
(``mdm/checkin/declarativemanagement.yaml``) and the objects of
``declarative/protocol/*.yaml``; declarations and status items are checked
against ``declarative/declarations`` and ``declarative/status`` of Apple's
schema. No Flask, no SQLAlchemy.

* ``declarations``  a declaration, a device's declaration set, its tokens and JSON bodies
* ``requests``      the ``Endpoint`` of a DeclarativeManagement request, and its ``Data``
* ``jsonsafe``      JSON from a device, refused when it cannot be stored safely
* ``status``        a device's status report, checked and flattened into status items
* ``service``       what to answer each endpoint, over a small storage Protocol
* ``command``       the ``DeclarativeManagement`` MDM command that tells a device to sync
"""
