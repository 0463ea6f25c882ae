"""mdm replay: signatures already seen (replay window) and device transfers between schools

Revision ID: 0010_mdm_replay
Revises: 0009_command_retention
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa
import app.models.base


revision = '0010_mdm_replay'
down_revision = '0009_command_retention'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: written on every signed MDM request, it must not cost a WAL flush
    # each time; after a database crash it starts empty (a replay window, not a record).
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table('mdm_seen_signatures',
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('seen_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_mdm_seen_signatures')),
    prefixes=['UNLOGGED'] if postgres else [],
    )
    with op.batch_alter_table('mdm_seen_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mdm_seen_signatures_seen_at'), ['seen_at'], unique=False)

    op.create_table('device_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('allowed_by', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_transfers_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_device_transfers_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_transfers')),
    sa.UniqueConstraint('device_id', name=op.f('uq_device_transfers_device_id'))
    )
    with op.batch_alter_table('device_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_transfers_school_id'), ['school_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('device_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_transfers_school_id'))

    op.drop_table('device_transfers')
    with op.batch_alter_table('mdm_seen_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mdm_seen_signatures_seen_at'))

    op.drop_table('mdm_seen_signatures')
