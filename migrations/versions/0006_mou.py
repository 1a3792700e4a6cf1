"""mou signing records

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00.000000

mou.session_id refers to the agenda's agenda_session (migration 0003), hence depends_on.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mou',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('signing_date', sa.Date(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'signed', 'expired', 'terminated', 'renewed', name='mou_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('visibility', sa.Enum('public', 'internal', name='mou_visibility', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('internal_notes', sa.Text(), nullable=True),
    sa.Column('renewal_reminded_for', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('start_date IS NULL OR end_date IS NULL OR end_date >= start_date', name=op.f('ck_mou_dates_in_order')),
    sa.CheckConstraint("signing_date IS NOT NULL OR status IN ('draft', 'scheduled')", name=op.f('ck_mou_signed_has_signing_date')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_mou_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['agenda_session.id'], name=op.f('fk_mou_session_id_agenda_session'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mou'))
    )
    with op.batch_alter_table('mou', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mou_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mou_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mou_status'), ['status'], unique=False)

    op.create_table('mou_audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mou_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_mou_audit_entry_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mou_id'], ['mou.id'], name=op.f('fk_mou_audit_entry_mou_id_mou'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mou_audit_entry'))
    )
    with op.batch_alter_table('mou_audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mou_audit_entry_mou_id'), ['mou_id'], unique=False)

    op.create_table('mou_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mou_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_mou_document_sha256_length')),
    sa.CheckConstraint('size > 0', name=op.f('ck_mou_document_size_positive')),
    sa.ForeignKeyConstraint(['mou_id'], ['mou.id'], name=op.f('fk_mou_document_mou_id_mou'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_mou_document_uploaded_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mou_document')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_mou_document_stored_name'))
    )
    with op.batch_alter_table('mou_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mou_document_mou_id'), ['mou_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mou_document_sha256'), ['sha256'], unique=False)

    op.create_table('mou_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mou_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mou_id'], ['mou.id'], name=op.f('fk_mou_party_mou_id_mou'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_mou_party_organization_id_organization'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mou_party')),
    sa.UniqueConstraint('mou_id', 'organization_id', name='uq_mou_party_mou_organization')
    )
    with op.batch_alter_table('mou_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mou_party_mou_id'), ['mou_id'], unique=False)

    op.create_table('mou_signatory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('title_at_signing', sa.String(length=300), nullable=True),
    sa.Column('role', sa.Enum('signatory', 'witness', name='mou_signatory_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.CheckConstraint("role = 'signatory' OR person_id IS NOT NULL", name=op.f('ck_mou_signatory_witness_is_named')),
    sa.ForeignKeyConstraint(['party_id'], ['mou_party.id'], name=op.f('fk_mou_signatory_party_id_mou_party'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_mou_signatory_person_id_person'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mou_signatory')),
    sa.UniqueConstraint('party_id', 'person_id', name='uq_mou_signatory_party_person')
    )
    with op.batch_alter_table('mou_signatory', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mou_signatory_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mou_signatory_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('mou_signatory', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mou_signatory_person_id'))
        batch_op.drop_index(batch_op.f('ix_mou_signatory_party_id'))

    op.drop_table('mou_signatory')
    with op.batch_alter_table('mou_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mou_party_mou_id'))

    op.drop_table('mou_party')
    with op.batch_alter_table('mou_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mou_document_sha256'))
        batch_op.drop_index(batch_op.f('ix_mou_document_mou_id'))

    op.drop_table('mou_document')
    with op.batch_alter_table('mou_audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mou_audit_entry_mou_id'))

    op.drop_table('mou_audit_entry')
    with op.batch_alter_table('mou', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mou_status'))
        batch_op.drop_index(batch_op.f('ix_mou_session_id'))
        batch_op.drop_index(batch_op.f('ix_mou_event_id'))

    op.drop_table('mou')
