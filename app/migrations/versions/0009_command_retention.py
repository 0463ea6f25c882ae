"""command retention: index for purging finished commands

Revision ID: 0009_command_retention
Revises: 0008_mdm
Create Date: 2026-11-25
"""

from alembic import op


revision = '0009_command_retention'
down_revision = '0008_mdm'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index('ix_commands_completed_at', ['completed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index('ix_commands_completed_at')
