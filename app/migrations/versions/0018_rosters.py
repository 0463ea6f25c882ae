"""rosters: classes from teaching groups, grants scoped to a class, SSO rules on affiliation

Revision ID: 0018_rosters
Revises: 0017_operations
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import app.models.base


revision = '0018_rosters'
down_revision = '0017_operations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('school_rosters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('feide_org_unit', sa.String(length=255), nullable=True),
    sa.Column('last_import_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_import_source', sa.String(length=16), nullable=True),
    sa.Column('last_import_outcome', sa.Text(), nullable=True),
    sa.Column('last_import_failed', sa.Boolean(), nullable=False),
    sa.Column('export_mtime_ns', sa.BigInteger(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_rosters_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_rosters')),
    sa.UniqueConstraint('feide_org_unit', name=op.f('uq_school_rosters_feide_org_unit')),
    sa.UniqueConstraint('school_id', name=op.f('uq_school_rosters_school_id'))
    )
    op.create_table('roster_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('synced_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_roster_classes_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_roster_classes_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_classes')),
    sa.UniqueConstraint('group_id', name=op.f('uq_roster_classes_group_id')),
    sa.UniqueConstraint('school_id', 'external_id', name=op.f('uq_roster_classes_school_id_external_id'))
    )
    with op.batch_alter_table('roster_classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_classes_school_id'), ['school_id'], unique=False)

    op.create_table('roster_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['roster_classes.id'], name=op.f('fk_roster_members_class_id_roster_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_roster_members_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_members')),
    sa.UniqueConstraint('class_id', 'person_id', name=op.f('uq_roster_members_class_id_person_id'))
    )
    with op.batch_alter_table('roster_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_members_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_members_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_members_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_role_grants_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_role_grants_group_id_groups'), 'groups', ['group_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('sso_grant_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('affiliation', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sso_grant_rules', schema=None) as batch_op:
        batch_op.drop_column('affiliation')

    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_role_grants_group_id_groups'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_role_grants_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('roster_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_members_school_id'))
        batch_op.drop_index(batch_op.f('ix_roster_members_person_id'))
        batch_op.drop_index(batch_op.f('ix_roster_members_class_id'))

    op.drop_table('roster_members')
    with op.batch_alter_table('roster_classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_classes_school_id'))

    op.drop_table('roster_classes')
    op.drop_table('school_rosters')
