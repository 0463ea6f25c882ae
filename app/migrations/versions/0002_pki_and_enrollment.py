"""PKI and enrollment: the CA, issued certificates, SCEP challenges, the push certificate

Revision ID: 0002_pki
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa
import app.models.base


revision = '0002_pki'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_authorities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('key_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('not_after', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('retired_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_authorities')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_certificate_authorities_fingerprint'))
    )
    op.create_table('push_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('not_after', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('key_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('imported_by', sa.String(length=255), nullable=False),
    sa.Column('replaced_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_certificates'))
    )
    op.create_table('enrollment_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_token_id', sa.Integer(), nullable=False),
    sa.Column('challenge_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_token_id'], ['enrollment_tokens.id'], name=op.f('fk_enrollment_challenges_enrollment_token_id_enrollment_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_enrollment_challenges_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_challenges')),
    sa.UniqueConstraint('challenge_hash', name=op.f('uq_enrollment_challenges_challenge_hash'))
    )
    with op.batch_alter_table('enrollment_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_challenges_school_id'), ['school_id'], unique=False)

    op.create_table('issued_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=48), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('not_before', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_after', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('certificate_der', sa.LargeBinary(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('enrollment_token_id', sa.Integer(), nullable=True),
    sa.Column('renewed_from_id', sa.Integer(), nullable=True),
    sa.Column('transaction_id', sa.String(length=256), nullable=True),
    sa.Column('revoked_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['certificate_authorities.id'], name=op.f('fk_issued_certificates_authority_id_certificate_authorities')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_issued_certificates_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrollment_token_id'], ['enrollment_tokens.id'], name=op.f('fk_issued_certificates_enrollment_token_id_enrollment_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['renewed_from_id'], ['issued_certificates.id'], name=op.f('fk_issued_certificates_renewed_from_id_issued_certificates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_issued_certificates_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_certificates')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_issued_certificates_fingerprint')),
    sa.UniqueConstraint('serial', name=op.f('uq_issued_certificates_serial'))
    )
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_certificates_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_issued_certificates_school_id', ['school_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_issued_certificates_school_id')
        batch_op.drop_index(batch_op.f('ix_issued_certificates_device_id'))

    op.drop_table('issued_certificates')
    with op.batch_alter_table('enrollment_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_challenges_school_id'))

    op.drop_table('enrollment_challenges')
    op.drop_table('push_certificates')
    op.drop_table('certificate_authorities')
