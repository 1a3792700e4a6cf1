"""offline check-in: conflicts of uploaded offline scans (duplicates, refusals)

Revision ID: 0008
Revises: 0007
Depends on: 0005 (the check-in tables)
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('checkin_conflict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('badge_id', sa.Integer(), nullable=True),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('door', sa.String(length=100), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['badge_id'], ['badge.id'], name=op.f('fk_checkin_conflict_badge_id_badge'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], name=op.f('fk_checkin_conflict_checkin_id_checkin'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['door_device.id'], name=op.f('fk_checkin_conflict_device_id_door_device'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['checkin_list.id'], name=op.f('fk_checkin_conflict_list_id_checkin_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_checkin_conflict_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_conflict')),
    sa.UniqueConstraint('nonce', name=op.f('uq_checkin_conflict_nonce'))
    )
    with op.batch_alter_table('checkin_conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_conflict_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('checkin_conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_conflict_created_at'))
    op.drop_table('checkin_conflict')
