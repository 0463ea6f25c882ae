"""asm: Apple School Manager tokens and devices, ADE flags and the bypass code on devices, ADE enrollment challenges

Revision ID: 0012_asm
Revises: 0011_sessions
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

revision = '0012_asm'
down_revision = '0011_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('asm_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('key_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('not_after', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asm_keys')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_asm_keys_fingerprint'))
    )
    op.create_table('asm_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consumer_key_hash', sa.String(length=64), nullable=False),
    sa.Column('server_uuid', sa.String(length=64), nullable=True),
    sa.Column('server_name', sa.String(length=255), nullable=True),
    sa.Column('org_name', sa.String(length=255), nullable=True),
    sa.Column('org_email', sa.String(length=255), nullable=True),
    sa.Column('admin_id', sa.String(length=255), nullable=True),
    sa.Column('credentials_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('access_token_expiry', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('imported_by', sa.String(length=255), nullable=False),
    sa.Column('imported_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_cursor', sa.String(length=1000), nullable=True),
    sa.Column('sync_cursor_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fetch_cursor', sa.String(length=1000), nullable=True),
    sa.Column('fetch_started_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sync_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_full_sync_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sync_state', sa.String(length=32), nullable=False),
    sa.Column('sync_message', sa.String(length=500), nullable=True),
    sa.Column('sync_requested_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asm_tokens')),
    sa.UniqueConstraint('consumer_key_hash', name=op.f('uq_asm_tokens_consumer_key_hash')),
    sa.UniqueConstraint('server_uuid', name=op.f('uq_asm_tokens_server_uuid'))
    )
    op.create_table('asm_settings',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('skip_setup_items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('region', sa.String(length=8), nullable=True),
    sa.Column('support_email', sa.String(length=254), nullable=True),
    sa.Column('anchor_flokk_ca', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_asm_settings_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_asm_settings'))
    )
    op.create_table('asm_defined_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('profile_uuid', sa.String(length=64), nullable=False),
    sa.Column('definition_hash', sa.String(length=64), nullable=False),
    sa.Column('defined_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_asm_defined_profiles_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['asm_tokens.id'], name=op.f('fk_asm_defined_profiles_token_id_asm_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asm_defined_profiles')),
    sa.UniqueConstraint('token_id', 'school_id', name=op.f('uq_asm_defined_profiles_token_id_school_id'))
    )
    with op.batch_alter_table('asm_defined_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asm_defined_profiles_school_id'), ['school_id'], unique=False)

    op.create_table('asm_school_profiles',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('support_phone', sa.String(length=40), nullable=True),
    sa.Column('department', sa.String(length=125), nullable=True),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_asm_school_profiles_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('school_id', name=op.f('pk_asm_school_profiles'))
    )
    op.create_table('asm_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('pattern', sa.String(length=255), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_asm_rules_group_id_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_asm_rules_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['asm_tokens.id'], name=op.f('fk_asm_rules_token_id_asm_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asm_rules'))
    )
    with op.batch_alter_table('asm_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asm_rules_school_id'), ['school_id'], unique=False)

    op.create_table('asm_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('color', sa.String(length=64), nullable=True),
    sa.Column('asset_tag', sa.String(length=64), nullable=True),
    sa.Column('os', sa.String(length=32), nullable=True),
    sa.Column('device_family', sa.String(length=32), nullable=True),
    sa.Column('profile_status', sa.String(length=32), nullable=True),
    sa.Column('profile_uuid', sa.String(length=64), nullable=True),
    sa.Column('device_assigned_by', sa.String(length=255), nullable=True),
    sa.Column('device_assigned_date', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('op_date', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('assigned_via', sa.String(length=255), nullable=True),
    sa.Column('assigned_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assigned_profile_uuid', sa.String(length=64), nullable=True),
    sa.Column('assign_outcome', sa.String(length=32), nullable=True),
    sa.Column('assign_checked_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('enrolling_udid', sa.String(length=64), nullable=True),
    sa.Column('profile_served_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_asm_devices_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_asm_devices_group_id_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_asm_devices_school_id_schools'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['token_id'], ['asm_tokens.id'], name=op.f('fk_asm_devices_token_id_asm_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asm_devices')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_asm_devices_serial_number'))
    )
    with op.batch_alter_table('asm_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asm_devices_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_asm_devices_school_id', ['school_id'], unique=False)
        batch_op.create_index('ix_asm_devices_token_id', ['token_id'], unique=False)

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ade_enrolled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('awaiting_configuration', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('activation_lock_bypass_code', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('bypass_code_escrowed_at', app.models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('enrollment_challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asm_device_id', sa.Integer(), nullable=True))
        batch_op.alter_column('enrollment_token_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_enrollment_challenges_asm_device_id_asm_devices'), 'asm_devices', ['asm_device_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('enrollment_challenges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enrollment_challenges_asm_device_id_asm_devices'), type_='foreignkey')
        batch_op.alter_column('enrollment_token_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('asm_device_id')

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('bypass_code_escrowed_at')
        batch_op.drop_column('activation_lock_bypass_code')
        batch_op.drop_column('awaiting_configuration')
        batch_op.drop_column('ade_enrolled')

    with op.batch_alter_table('asm_devices', schema=None) as batch_op:
        batch_op.drop_index('ix_asm_devices_token_id')
        batch_op.drop_index('ix_asm_devices_school_id')
        batch_op.drop_index(batch_op.f('ix_asm_devices_device_id'))

    op.drop_table('asm_devices')
    with op.batch_alter_table('asm_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asm_rules_school_id'))

    op.drop_table('asm_rules')
    op.drop_table('asm_school_profiles')
    with op.batch_alter_table('asm_defined_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asm_defined_profiles_school_id'))

    op.drop_table('asm_defined_profiles')
    op.drop_table('asm_settings')
    op.drop_table('asm_tokens')
    op.drop_table('asm_keys')
