"""device list: indexes for the dashboard's sorted device list over a whole fleet

Revision ID: 0019_device_list
Revises: 0018_rosters
Create Date: 2026-12-02
"""

from alembic import op


revision = '0019_device_list'
down_revision = '0018_rosters'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_devices_school_id_name_id', 'devices', ['school_id', 'name', 'id'], unique=False)
    op.create_index('ix_devices_name_id', 'devices', ['name', 'id'], unique=False)
    op.create_index('ix_devices_os_version_id', 'devices', ['os_version', 'id'], unique=False)
    op.create_index('ix_devices_last_seen_at_id', 'devices', ['last_seen_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_devices_last_seen_at_id', table_name='devices')
    op.drop_index('ix_devices_os_version_id', table_name='devices')
    op.drop_index('ix_devices_name_id', table_name='devices')
    op.drop_index('ix_devices_school_id_name_id', table_name='devices')
