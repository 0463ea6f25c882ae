"""Words the dashboard shows for Apple's and Flokk's codes, and the commands it offers.

Apple's names (DeviceLock, EraseDevice) and Flokk's states stay the values
sent and stored; people see these labels, translated at render time (``N_``
only marks them for the translation catalogue).
"""

from __future__ import annotations

from collections.abc import Mapping

from app.services.fleet.device_removal import REMOVE_DEVICE


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    return message


#: Offered on a device's page and a group's row, in this order.
COMMANDS: dict[str, str] = {
    "DeviceInformation": N_("Refresh device information"),
    "SecurityInfo": N_("Check passcode and encryption"),
    "ProfileList": N_("Refresh installed profiles"),
    "InstalledApplicationList": N_("Refresh installed apps"),
    "DeviceLock": N_("Lock the screen"),
    "EnableLostMode": N_("Turn on Lost Mode"),
    "DisableLostMode": N_("Turn off Lost Mode"),
    "RestartDevice": N_("Restart"),
    "ShutDownDevice": N_("Shut down"),
    "ClearPasscode": N_("Remove the passcode (needs approval)"),
    "EraseDevice": N_("Erase all content (needs approval)"),
}
#: Offered on a Chromebook's page (Google's command names).
CHROMEBOOK_COMMANDS: dict[str, str] = {
    "REBOOT": N_("Restart"),
    "SET_VOLUME": N_("Set the volume"),
    "TAKE_A_SCREENSHOT": N_("Take a screenshot (kiosk only)"),
    "DISABLE": N_("Disable (lost or stolen)"),
    "REENABLE": N_("Enable again"),
    "WIPE_USERS": N_("Remove all users (needs approval)"),
    "REMOTE_POWERWASH": N_("Powerwash: reset to factory state (needs approval)"),
    "DEPROVISION": N_("Deprovision (needs approval)"),
}
#: Why a Chromebook is deprovisioned, as Google asks.
DEPROVISION_REASONS = {
    "retiring_device": N_("retired"),
    "same_model_replacement": N_("replaced by the same model"),
    "different_model_replacement": N_("replaced by another model"),
    "repair_center": N_("sent for repair"),
    "upgrade_transfer": N_("licence moved to another device"),
    "not_required": N_("no longer needs management"),
    "other": N_("other"),
}
OTHER_ACTIONS = {REMOVE_DEVICE: N_("Remove from Flokk"), "InstallProfile": N_("Install a profile"),
                 "RemoveProfile": N_("Remove a profile"), "InstallApplication": N_("Install an app"),
                 "RemoveApplication": N_("Remove an app"), "ManagedApplicationList": N_("Refresh managed apps")}
#: Where a command is in its lifecycle (DESIGN.md), as the command tables say it.
STATUSES = {
    "queued": N_("waiting"),
    "sent": N_("sent"),
    "acknowledged": N_("done"),
    "error": N_("failed"),
    "not_now": N_("device busy, will retry"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
}
#: Commands that show the form's message and phone number on the device's screen.
WITH_MESSAGE = frozenset({"DeviceLock", "EnableLostMode"})


def label(request_type: str) -> str:
    """The untranslated label of a command (its Apple name when it has none)."""
    return COMMANDS.get(request_type) or CHROMEBOOK_COMMANDS.get(request_type) or OTHER_ACTIONS.get(request_type) or request_type


#: A device's enrollment state.
#: Roles as people say them.
ROLES = {
    "central_admin": N_("central admin"),
    "central_helpdesk": N_("central helpdesk"),
    "school_ict": N_("school ICT contact"),
    "auditor": N_("auditor"),
    "teacher": N_("teacher of the class"),
}

#: Platforms by their product names (the same in every language).
PLATFORMS = {"ipados": "iPad", "ios": "iPhone", "macos": "Mac", "chromeos": "Chromebook"}

#: "Not seen since" choices of the device list: days.
NOT_SEEN_DAYS = (7, 30, 90)

ENROLLMENT_STATES = {
    "pending": N_("enrolling"),
    "enrolled": N_("enrolled"),
    "unenrolled": N_("not enrolled"),
}


#: An enrollment link's state (``app.services.mdm.enrollment.TokenState``).
TOKEN_STATES = {
    "active": N_("active"),
    "revoked": N_("revoked"),
    "expired": N_("expired"),
    "used up": N_("used up"),
}


#: An approval request's state.
APPROVAL_STATUSES = {
    "pending": N_("waiting for approval"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "expired": N_("expired"),
}
#: What a group is.
GROUP_KINDS = {"class": N_("class"), "year": N_("year group"), "cart": N_("cart"), "other": N_("other")}


def screen_text(request_type: str, form: Mapping[str, str]) -> dict[str, str]:
    """Message and PhoneNumber from the form, for the commands that show them; nothing for the rest."""
    if request_type not in WITH_MESSAGE:
        return {}
    params = {"Message": form.get("message", "").strip(), "PhoneNumber": form.get("phone", "").strip()}
    return {key: value for key, value in params.items() if value}


def chromebook_params(request_type: str, form: Mapping[str, str]) -> dict[str, object]:
    """The volume or the deprovision reason from the form, for the Chromebook commands that take them."""
    if request_type == "SET_VOLUME":
        raw = form.get("volume", "").strip()
        return {"volume": int(raw) if raw.isdigit() and len(raw) < 4 else raw}
    if request_type == "DEPROVISION":
        return {"reason": form.get("deprovision_reason", "").strip()}
    return {}


#: Where one of a device's policy profiles stands (``policy.effective``), as the device's policy page says it.
PROFILE_STATES = {
    "installed": N_("installed"),
    "to install": N_("to install"),
    "queued": N_("queued"),
    "sent, not yet reported back": N_("sent, not yet reported back"),
}
APPLIED_PER_UNIT = N_("applied per organisational unit")
TO_REMOVE = N_("to remove")
UNMANAGED = N_("outside the policy (left alone)")
BLOCKED = "blocked: "


def profile_state_label(state: str) -> tuple[str, str | None]:
    """The untranslated label of a profile's state, and the service's reason when it is blocked."""
    if state.startswith(BLOCKED):
        return N_("blocked"), state[len(BLOCKED):]
    return PROFILE_STATES.get(state, state), None
