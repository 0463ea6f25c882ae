"""Typed SQLAlchemy 2 models, one module per domain; importing this registers them all."""

from app.models.accounts import AdminSession, AdminUser, ApiToken, RoleGrant, SsoGrantRule
from app.models.approvals import ApprovalRequest, ApprovalStatus
from app.models.apps import (
    AppAsset,
    AppDelivery,
    AppLicence,
    AppsEvent,
    AppsNotification,
    AppsToken,
    DeviceApp,
    DeviceAppReport,
)
from app.models.asm import AsmDefinedProfile, AsmDevice, AsmKey, AsmRule, AsmSchoolProfile, AsmSettings, AsmToken
from app.models.audit import AuditEvent, AuditPurgePermit
from app.models.base import Base
from app.models.commands import Command, CommandStatus
from app.models.declarations import DeclarationReport, DeclarativeDevice
from app.models.devices import (
    Device,
    DeviceTransfer,
    DeviceUser,
    EnrollmentState,
    InstalledProfile,
    Platform,
    SeenSignature,
)
from app.models.enrollment import EnrollmentToken
from app.models.google import Chromebook, ChromebookCommand, GoogleConnection, GoogleOrgUnit
from app.models.operations import IdempotencyKey, Webhook, WebhookCursor, WebhookDelivery
from app.models.pki import CertificateAuthorityRecord, EnrollmentChallenge, IssuedCertificate, PushCertificateRecord
from app.models.policy import PolicyDelivery, PolicyLayer, PolicyNamespace, PolicySetting, PolicyVersion
from app.models.rosters import RosterClass, RosterMember, SchoolRoster
from app.models.tenancy import Group, GroupKind, Organisation, School

__all__ = [
    "AdminSession",
    "AdminUser",
    "AppAsset",
    "AppDelivery",
    "AppLicence",
    "AppsEvent",
    "AppsNotification",
    "AppsToken",
    "ApiToken",
    "ApprovalRequest",
    "ApprovalStatus",
    "AsmDefinedProfile",
    "AsmDevice",
    "AsmKey",
    "AsmRule",
    "AsmSchoolProfile",
    "AsmSettings",
    "AsmToken",
    "AuditEvent",
    "AuditPurgePermit",
    "Base",
    "Chromebook",
    "ChromebookCommand",
    "CertificateAuthorityRecord",
    "Command",
    "CommandStatus",
    "DeclarationReport",
    "DeclarativeDevice",
    "Device",
    "DeviceTransfer",
    "DeviceApp",
    "DeviceAppReport",
    "DeviceUser",
    "EnrollmentChallenge",
    "EnrollmentState",
    "EnrollmentToken",
    "GoogleConnection",
    "GoogleOrgUnit",
    "Group",
    "GroupKind",
    "IdempotencyKey",
    "InstalledProfile",
    "IssuedCertificate",
    "Organisation",
    "Platform",
    "PolicyDelivery",
    "PolicyLayer",
    "PolicyNamespace",
    "PolicySetting",
    "PolicyVersion",
    "PushCertificateRecord",
    "RoleGrant",
    "RosterClass",
    "RosterMember",
    "School",
    "SchoolRoster",
    "SeenSignature",
    "SsoGrantRule",
    "Webhook",
    "WebhookCursor",
    "WebhookDelivery",
]
