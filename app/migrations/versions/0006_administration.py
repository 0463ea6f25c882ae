"""administration: single sign-on identities and grant rules, approvals, an append-only audit log

Revision ID: 0006
Revises: 0002_pki
Create Date: 2026-11-25

The audit log refuses UPDATE and DELETE by trigger on both databases. The
retention job deletes old events by first inserting an ``audit_purge_permits``
row in its own transaction: a DELETE passes only for events older than such a
permit's cutoff.
"""

from alembic import op
import sqlalchemy as sa
import app.models.base
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0002_pki'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_purge_permits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cutoff', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_purge_permits'))
    )
    op.create_table('approval_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('request_type', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('device_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('device_count', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('requester_kind', sa.String(length=16), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('decided_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('queued_count', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_approval_requests_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_requests'))
    )
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_requests_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_approval_requests_status', ['status', 'expires_at'], unique=False)

    op.create_table('sso_grant_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('claim_value', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_sso_grant_rules_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_grant_rules')),
    sa.UniqueConstraint('provider', 'claim_value', 'role', 'school_id', name=op.f('uq_sso_grant_rules_provider_claim_value_role_school_id'))
    )
    with op.batch_alter_table('sso_grant_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_grant_rules_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_provider', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_admin_users_sso_provider_sso_subject'), ['sso_provider', 'sso_subject'])

    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=40), server_default='manual', nullable=False))

    _create_audit_triggers()



def downgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_column('source')

    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_admin_users_sso_provider_sso_subject'), type_='unique')
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('sso_provider')

    with op.batch_alter_table('sso_grant_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_grant_rules_school_id'))

    op.drop_table('sso_grant_rules')
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_requests_status')
        batch_op.drop_index(batch_op.f('ix_approval_requests_school_id'))

    op.drop_table('approval_requests')
    op.drop_table('audit_purge_permits')


_POSTGRES_TRIGGERS = """
CREATE FUNCTION flokk_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_purge_permits WHERE OLD.occurred_at < audit_purge_permits.cutoff
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION flokk_audit_append_only();
CREATE FUNCTION flokk_audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (TRUNCATE refused)' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION flokk_audit_no_truncate();
"""

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permits WHERE OLD.occurred_at < audit_purge_permits.cutoff)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only (DELETE refused)'); END""",
)


def _create_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_TRIGGERS)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION flokk_audit_no_truncate()")
        op.execute("DROP FUNCTION flokk_audit_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_no_delete")
        op.execute("DROP TRIGGER audit_events_no_update")
