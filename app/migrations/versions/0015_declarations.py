"""declarations: declarative device management state and declaration reports

Revision ID: 0015_declarations
Revises: 0014_google
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

revision = '0015_declarations'
down_revision = '0014_google'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('declaration_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('server_token', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('valid', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reported_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_declaration_reports_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_declaration_reports_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_declaration_reports')),
    sa.UniqueConstraint('device_id', 'identifier', name=op.f('uq_declaration_reports_device_id_identifier'))
    )
    with op.batch_alter_table('declaration_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declaration_reports_school_id'), ['school_id'], unique=False)

    op.create_table('declarative_devices',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('enabled_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('declarations_token', sa.String(length=64), nullable=True),
    sa.Column('token_changed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status_errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('status_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('update_state', sa.String(length=16), nullable=True),
    sa.Column('update_pending_version', sa.String(length=32), nullable=True),
    sa.Column('update_failure_count', sa.Integer(), nullable=False),
    sa.Column('update_failure_reason', sa.String(length=500), nullable=True),
    sa.Column('update_reported_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_declarative_devices_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_declarative_devices_school_id_schools')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_declarative_devices'))
    )
    with op.batch_alter_table('declarative_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_declarative_devices_school_id'), ['school_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('declarative_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declarative_devices_school_id'))

    op.drop_table('declarative_devices')
    with op.batch_alter_table('declaration_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_declaration_reports_school_id'))

    op.drop_table('declaration_reports')
