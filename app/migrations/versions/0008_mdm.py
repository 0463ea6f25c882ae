"""mdm: push back-off, user channel token state, command expiry index

Revision ID: 0008_mdm
Revises: 0007_policy
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa
import app.models.base


revision = '0008_mdm'
down_revision = '0007_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index('ix_commands_status_expires_at', ['status', 'expires_at'], unique=False)

    with op.batch_alter_table('device_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('push_token_invalid_at', app.models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_push_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('push_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_push_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_devices_next_push_at'), ['next_push_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_next_push_at'))
        batch_op.drop_column('next_push_at')
        batch_op.drop_column('push_attempts')
        batch_op.drop_column('last_push_at')

    with op.batch_alter_table('device_users', schema=None) as batch_op:
        batch_op.drop_column('push_token_invalid_at')

    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index('ix_commands_status_expires_at')

