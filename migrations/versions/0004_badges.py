"""badges: per-event signing keys, badges, bulk badge PDFs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('private_key', sa.LargeBinary(length=64), nullable=False),
    sa.Column('public_key', sa.LargeBinary(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_key_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_key')),
    sa.UniqueConstraint('event_id', name=op.f('uq_event_key_event_id'))
    )
    op.create_table('badge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=160), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=True),
    sa.Column('printed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_badge_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_badge_registration_id_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badge')),
    sa.UniqueConstraint('code', name=op.f('uq_badge_code'))
    )
    with op.batch_alter_table('badge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badge_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_badge_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('uq_badge_live_registration', ['registration_id'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('badge_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=16), nullable=False),
    sa.Column('category', sa.Enum('member_city', 'partner', 'embassy', 'speaker', 'youth', 'press', 'staff', name='badge_batch_category', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('only_unprinted', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='badge_batch_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_badge_batch_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_badge_batch_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_batch'))
    )
    with op.batch_alter_table('badge_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badge_batch_event_id'), ['event_id'], unique=False)


def downgrade():
    with op.batch_alter_table('badge_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_badge_batch_event_id'))

    op.drop_table('badge_batch')
    with op.batch_alter_table('badge', schema=None) as batch_op:
        batch_op.drop_index('uq_badge_live_registration', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_badge_registration_id'))
        batch_op.drop_index(batch_op.f('ix_badge_event_id'))

    op.drop_table('badge')
    op.drop_table('event_key')
