"""policy: layers, settings, versions, deliveries and the profile namespace

Revision ID: 0007_policy
Revises: 0006
Create Date: 2026-11-25 15:01:30.258199
"""

from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

revision = '0007_policy'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_namespaces',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('identifier_prefix', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_policy_namespaces_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_policy_namespaces'))
    )
    op.create_table('policy_layers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('scope_key', sa.String(length=64), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_policy_layers_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_policy_layers_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_policy_layers_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_policy_layers_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_layers')),
    sa.UniqueConstraint('scope_key', name=op.f('uq_policy_layers_scope_key'))
    )
    with op.batch_alter_table('policy_layers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_layers_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_layers_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_layers_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_layers_school_id'), ['school_id'], unique=False)

    op.create_table('policy_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layer_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('payload_type', sa.String(length=128), nullable=False),
    sa.Column('instance', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('sealed_value', sa.LargeBinary(), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('set_by', sa.String(length=255), nullable=False),
    sa.Column('set_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['layer_id'], ['policy_layers.id'], name=op.f('fk_policy_settings_layer_id_policy_layers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_policy_settings_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_settings')),
    sa.UniqueConstraint('layer_id', 'payload_type', 'instance', 'key', name=op.f('uq_policy_settings_layer_id_payload_type_instance_key'))
    )
    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_settings_school_id'), ['school_id'], unique=False)

    op.create_table('policy_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layer_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('entries', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['layer_id'], ['policy_layers.id'], name=op.f('fk_policy_versions_layer_id_policy_layers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_policy_versions_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions')),
    sa.UniqueConstraint('layer_id', 'number', name=op.f('uq_policy_versions_layer_id_number'))
    )
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_versions_school_id'), ['school_id'], unique=False)

    op.create_table('policy_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('command_uuid', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['command_uuid'], ['commands.uuid'], name=op.f('fk_policy_deliveries_command_uuid_commands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_policy_deliveries_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_policy_deliveries_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_deliveries')),
    sa.UniqueConstraint('command_uuid', name=op.f('uq_policy_deliveries_command_uuid'))
    )
    with op.batch_alter_table('policy_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_deliveries_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_deliveries_school_id'), ['school_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('policy_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_deliveries_school_id'))
        batch_op.drop_index(batch_op.f('ix_policy_deliveries_device_id'))

    op.drop_table('policy_deliveries')
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_versions_school_id'))

    op.drop_table('policy_versions')
    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_settings_school_id'))

    op.drop_table('policy_settings')
    with op.batch_alter_table('policy_layers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_layers_school_id'))
        batch_op.drop_index(batch_op.f('ix_policy_layers_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_policy_layers_group_id'))
        batch_op.drop_index(batch_op.f('ix_policy_layers_device_id'))

    op.drop_table('policy_layers')
    op.drop_table('policy_namespaces')
