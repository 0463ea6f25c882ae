"""google: Chromebooks through Google (connection, organisational units, inventory, command ids)

Revision ID: 0014_google
Revises: 0013_apps
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

revision = '0014_google'
down_revision = '0013_apps'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('google_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('admin_email', sa.String(length=254), nullable=False),
    sa.Column('client_email', sa.String(length=254), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('sealed_key', sa.LargeBinary(), nullable=False),
    sa.Column('store_recent_users', sa.Boolean(), nullable=False),
    sa.Column('connected_by', sa.String(length=255), nullable=False),
    sa.Column('connected_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_run', sa.String(length=36), nullable=True),
    sa.Column('sync_kind', sa.String(length=16), nullable=True),
    sa.Column('sync_query', sa.String(length=100), nullable=True),
    sa.Column('sync_cursor', sa.Text(), nullable=True),
    sa.Column('sync_started_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sync_pages', sa.Integer(), nullable=False),
    sa.Column('sync_seen', sa.Integer(), nullable=False),
    sa.Column('last_sync_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_full_sync_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sync_result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('last_sync_error', sa.Text(), nullable=True),
    sa.Column('sync_requested_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sync_requested_full', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_google_connections_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_connections')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_google_connections_organisation_id'))
    )
    op.create_table('google_org_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('ou_path', sa.String(length=500), nullable=False),
    sa.Column('ou_id', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('applied', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('applied_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('networks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('resolved_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drift', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('policy_error', sa.Text(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_google_org_units_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_google_org_units_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_google_org_units_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_org_units')),
    sa.UniqueConstraint('group_id', name=op.f('uq_google_org_units_group_id')),
    sa.UniqueConstraint('organisation_id', 'ou_id', name=op.f('uq_google_org_units_organisation_id_ou_id'))
    )
    with op.batch_alter_table('google_org_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_google_org_units_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_google_org_units_school_id'), ['school_id'], unique=False)

    op.create_table('chromebooks',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_path', sa.String(length=500), nullable=True),
    sa.Column('org_unit_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('auto_update_expiration', sa.Date(), nullable=True),
    sa.Column('last_sync', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('annotated_asset_id', sa.String(length=200), nullable=True),
    sa.Column('annotated_location', sa.String(length=200), nullable=True),
    sa.Column('annotated_user', sa.String(length=200), nullable=True),
    sa.Column('recent_users', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('deprovision_reason', sa.String(length=64), nullable=True),
    sa.Column('seen_run', sa.String(length=36), nullable=True),
    sa.Column('synced_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('missing_since', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_chromebooks_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_chromebooks_school_id_schools')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_chromebooks'))
    )
    with op.batch_alter_table('chromebooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chromebooks_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_chromebooks_seen_run', ['seen_run'], unique=False)

    op.create_table('chromebook_commands',
    sa.Column('command_id', sa.Integer(), nullable=False),
    sa.Column('google_device_id', sa.String(length=64), nullable=False),
    sa.Column('google_command_id', sa.String(length=32), nullable=True),
    sa.Column('next_poll_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('polls', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['command_id'], ['commands.id'], name=op.f('fk_chromebook_commands_command_id_commands'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('command_id', name=op.f('pk_chromebook_commands'))
    )
    with op.batch_alter_table('chromebook_commands', schema=None) as batch_op:
        batch_op.create_index('ix_chromebook_commands_poll', ['next_poll_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('chromebook_commands', schema=None) as batch_op:
        batch_op.drop_index('ix_chromebook_commands_poll')

    op.drop_table('chromebook_commands')
    with op.batch_alter_table('chromebooks', schema=None) as batch_op:
        batch_op.drop_index('ix_chromebooks_seen_run')
        batch_op.drop_index(batch_op.f('ix_chromebooks_school_id'))

    op.drop_table('chromebooks')
    with op.batch_alter_table('google_org_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_google_org_units_school_id'))
        batch_op.drop_index(batch_op.f('ix_google_org_units_organisation_id'))

    op.drop_table('google_org_units')
    op.drop_table('google_connections')
