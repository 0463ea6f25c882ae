"""The calls Flokk makes to Google's Directory API and Chrome Policy API.

Built with google-api-python-client from the discovery documents in
``discovery/`` (Directory API ``admin:directory_v1``, Chrome Policy API
``chromepolicy:v1``), never fetched at run time; the base URLs are given
(``FLOKK_GOOGLE_ADMIN_URL``, ``FLOKK_GOOGLE_POLICY_URL``), the transport and
clock can be injected. Every call goes through ``transport.Caller``:
retries, pacing, typed errors. Request and response shapes are Google's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from googleapiclient import discovery

from mdm_protocol.google import errors
from mdm_protocol.google.devices import DEVICE_FIELDS, RECENT_USERS_FIELD, ChromeDevice
from mdm_protocol.google.keys import ServiceAccountKey
from mdm_protocol.google.transport import Caller, RetryPolicy, authorized_http

DISCOVERY = Path(__file__).parent / "discovery"
ADMIN_URL = "https://admin.googleapis.com/"
POLICY_URL = "https://chromepolicy.googleapis.com/"
#: chromeosdevices.list: "Value should not exceed 300".
MAX_PAGE = 300
#: moveDevicesToOu: "You can move up to 50 devices at once."
MOVE_BATCH = 50


@functools.cache
def _document(name: str) -> str:
    return (DISCOVERY / name).read_text(encoding="utf-8")


def _service(name: str, http: Any, base_url: str) -> Any:
    return discovery.build_from_document(_document(name), http=http, client_options={"api_endpoint": base_url.rstrip("/") + "/"})


@dataclass(frozen=True)
class DevicePage:
    devices: list[ChromeDevice]
    next_page_token: str | None
    #: Entries Google sent that Flokk could not read (no deviceId).
    unreadable: int = 0


@dataclass(frozen=True)
class StatusResult:
    """One device's answer in batchChangeStatus: ``error`` None means done."""

    device_id: str
    error: str | None


class GoogleClient:
    """A signed-in client for one Google Workspace domain (customer)."""

    def __init__(
        self,
        key: ServiceAccountKey,
        admin_email: str,
        *,
        customer: str = "my_customer",
        admin_url: str = ADMIN_URL,
        policy_url: str = POLICY_URL,
        http: Any = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.key = key
        self.customer = customer
        http = http if http is not None else authorized_http(key, admin_email)
        self._directory = _service("admin.directory_v1.json", http, admin_url)
        self._policy = _service("chromepolicy.v1.json", http, policy_url)
        self.caller = Caller(retry)

    def _run(self, request: Any, what: str) -> Any:
        return self.caller.execute(request, what=what, client_id=self.key.client_id) or {}

    # ---------------------------------------------------------------- customer

    def customer_info(self, customer_key: str | None = None) -> dict[str, Any]:
        """``customers.get``: the domain's customer id and primary domain."""
        request = self._directory.customers().get(customerKey=customer_key or self.customer)
        return self._run(request, "customers.get")

    # ----------------------------------------------------------------- devices

    def device_page(
        self, *, page_token: str | None = None, query: str | None = None, max_results: int = 200,
        with_recent_users: bool = False,
    ) -> DevicePage:
        """One page of ``chromeosdevices.list`` (projection FULL, only the fields Flokk keeps)."""
        fields = DEVICE_FIELDS + ("," + RECENT_USERS_FIELD if with_recent_users else "")
        request = self._directory.chromeosdevices().list(
            customerId=self.customer, maxResults=min(max_results, MAX_PAGE), pageToken=page_token or None,
            projection="FULL", query=query or None, orderBy="serialNumber",
            fields=f"nextPageToken,chromeosdevices({fields})",
        )
        answer = self._run(request, "chromeosdevices.list")
        devices, unreadable = [], 0
        for item in answer.get("chromeosdevices") or ():
            try:
                devices.append(ChromeDevice.from_api(item, with_recent_users=with_recent_users))
            except (ValueError, AttributeError):
                unreadable += 1
        token = answer.get("nextPageToken")
        return DevicePage(devices, token if isinstance(token, str) and token else None, unreadable)

    def get_device(self, device_id: str) -> ChromeDevice:
        request = self._directory.chromeosdevices().get(customerId=self.customer, deviceId=device_id, projection="BASIC")
        return ChromeDevice.from_api(self._run(request, f"chromeosdevices.get {device_id}"))

    def move_devices(self, device_ids: Sequence[str], org_unit_path: str) -> None:
        """``chromeosdevices.moveDevicesToOu`` (50 at a time)."""
        for start in range(0, len(device_ids), MOVE_BATCH):
            chunk = list(device_ids[start : start + MOVE_BATCH])
            request = self._directory.chromeosdevices().moveDevicesToOu(
                customerId=self.customer, orgUnitPath=org_unit_path, body={"deviceIds": chunk}
            )
            self._run(request, f"moveDevicesToOu {org_unit_path}")

    def issue_command(self, device_id: str, command_type: str, payload: str | None = None) -> str:
        """``customer.devices.chromeos.issueCommand``; the command's id."""
        body: dict[str, Any] = {"commandType": command_type}
        if payload is not None:
            body["payload"] = payload
        request = self._directory.customer().devices().chromeos().issueCommand(
            customerId=self.customer, deviceId=device_id, body=body
        )
        answer = self._run(request, f"issueCommand {command_type}")
        command_id = answer.get("commandId")
        if not command_id:
            raise errors.InvalidArgument(f"issueCommand {command_type}: Google answered without a commandId")
        return str(command_id)

    def get_command(self, device_id: str, command_id: str) -> dict[str, Any]:
        """``customer.devices.chromeos.commands.get``: state, and commandResult once executed."""
        request = self._directory.customer().devices().chromeos().commands().get(
            customerId=self.customer, deviceId=device_id, commandId=command_id
        )
        return self._run(request, f"commands.get {command_id}")

    def batch_change_status(self, device_ids: Sequence[str], action: str, reason: str | None = None) -> list[StatusResult]:
        """``customer.devices.chromeos.batchChangeStatus`` for at most 50 devices; one result per device."""
        if not 0 < len(device_ids) <= 50:
            raise ValueError("batchChangeStatus takes 1 to 50 devices")
        body: dict[str, Any] = {"deviceIds": list(device_ids), "changeChromeOsDeviceStatusAction": action}
        if reason:
            body["deprovisionReason"] = reason
        request = self._directory.customer().devices().chromeos().batchChangeStatus(customerId=self.customer, body=body)
        answer = self._run(request, "batchChangeStatus")
        results = {}
        for item in answer.get("changeChromeOsDeviceStatusResults") or ():
            if not isinstance(item, Mapping) or not isinstance(item.get("deviceId"), str):
                continue
            error = item.get("error")
            message = None
            if isinstance(error, Mapping) and error.get("code"):
                message = str(error.get("message") or f"error {error.get('code')}")
            results[item["deviceId"]] = StatusResult(item["deviceId"], message)
        return [results.get(device_id, StatusResult(device_id, "Google did not answer for this device")) for device_id in device_ids]

    # ------------------------------------------------------------ org units

    def org_units(self) -> list[dict[str, Any]]:
        """Every organisational unit of the domain, the root ("/") included (``orgunits.list``)."""
        request = self._directory.orgunits().list(customerId=self.customer, orgUnitPath="/", type="allIncludingParent")
        answer = self._run(request, "orgunits.list")
        return [unit for unit in answer.get("organizationUnits") or () if isinstance(unit, Mapping)]

    def org_unit(self, path: str) -> dict[str, Any]:
        """One organisational unit by its full path ("/" is the domain's root)."""
        if path.strip("/") == "":
            for unit in self.org_units():
                if unit.get("orgUnitPath") == "/":
                    return unit
            raise errors.NotFound("orgunits.list: Google did not list the domain's root organisational unit")
        request = self._directory.orgunits().get(customerId=self.customer, orgUnitPath=path.strip("/"))
        return self._run(request, f"orgunits.get {path}")

    def insert_org_unit(self, name: str, parent_path: str, description: str = "") -> dict[str, Any]:
        body = {"name": name, "parentOrgUnitPath": parent_path, "description": description}
        return self._run(self._directory.orgunits().insert(customerId=self.customer, body=body), f"orgunits.insert {name}")

    # --------------------------------------------------------- chrome policy

    @property
    def _customer_name(self) -> str:
        return f"customers/{self.customer}"

    def resolve(self, org_unit_id: str, schema_filter: str) -> list[dict[str, Any]]:
        """``customers.policies.resolve`` for one OU, every page."""
        found: list[dict[str, Any]] = []
        token = None
        while True:
            body = {"policySchemaFilter": schema_filter, "policyTargetKey": {"targetResource": f"orgunits/{org_unit_id}"},
                    "pageSize": 1000}
            if token:
                body["pageToken"] = token
            answer = self._run(self._policy.customers().policies().resolve(customer=self._customer_name, body=body),
                               f"policies.resolve {schema_filter}")
            found.extend(item for item in answer.get("resolvedPolicies") or () if isinstance(item, Mapping))
            token = answer.get("nextPageToken")
            if not token:
                return found

    def batch_modify(self, requests: Sequence[Mapping[str, Any]]) -> None:
        """``customers.policies.orgunits.batchModify`` (one root namespace and target key set per call)."""
        request = self._policy.customers().policies().orgunits().batchModify(
            customer=self._customer_name, body={"requests": list(requests)}
        )
        self._run(request, "orgunits.batchModify")

    def batch_inherit(self, requests: Sequence[Mapping[str, Any]]) -> None:
        """``customers.policies.orgunits.batchInherit``: the OU follows its parent again."""
        request = self._policy.customers().policies().orgunits().batchInherit(
            customer=self._customer_name, body={"requests": list(requests)}
        )
        self._run(request, "orgunits.batchInherit")

    def define_network(self, org_unit_id: str, name: str, settings: Sequence[Mapping[str, Any]]) -> str:
        """``customers.policies.networks.defineNetwork``; the new network's id."""
        body = {"targetResource": f"orgunits/{org_unit_id}", "name": name, "settings": list(settings)}
        answer = self._run(self._policy.customers().policies().networks().defineNetwork(
            customer=self._customer_name, body=body), f"networks.defineNetwork {name}")
        network_id = answer.get("networkId")
        if not network_id:
            raise errors.InvalidArgument(f"defineNetwork {name}: Google answered without a networkId")
        return str(network_id)

    def remove_network(self, org_unit_id: str, network_id: str) -> None:
        body = {"targetResource": f"orgunits/{org_unit_id}", "networkId": network_id}
        self._run(self._policy.customers().policies().networks().removeNetwork(customer=self._customer_name, body=body),
                  f"networks.removeNetwork {network_id}")


def pages(client: GoogleClient, *, page_token: str | None = None, **options: Any) -> Iterator[DevicePage]:
    """Every page from ``page_token`` on."""
    while True:
        page = client.device_page(page_token=page_token, **options)
        yield page
        if page.next_page_token is None:
            return
        page_token = page.next_page_token


def dumps(value: Any) -> str:
    """Stable JSON for hashing and storing request bodies."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
