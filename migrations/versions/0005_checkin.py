"""check-in: lists, door devices, check-ins

Revision ID: 0005
Revises: 0004
Depends on: 0004 (the badge table)
Create Date: 2026-11-25 10:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

LIVE_ENTRY = "direction = 'in' AND closed_at IS NULL AND annulled_at IS NULL"


def upgrade():
    op.create_table('checkin_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('allows_exit', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_checkin_list_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_list'))
    )
    with op.batch_alter_table('checkin_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_list_event_id'), ['event_id'], unique=False)
        batch_op.create_index('uq_checkin_list_default_day', ['event_id', 'day'], unique=True,
                              sqlite_where=sa.text('is_default'), postgresql_where=sa.text('is_default'))

    op.create_table('door_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_door_device_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_door_device_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['checkin_list.id'], name=op.f('fk_door_device_list_id_checkin_list'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_door_device')),
    sa.UniqueConstraint('token', name=op.f('uq_door_device_token'))
    )
    with op.batch_alter_table('door_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_door_device_event_id'), ['event_id'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('badge_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('in', 'out', name='checkin_direction', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('door', sa.String(length=100), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('annulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['badge_id'], ['badge.id'], name=op.f('fk_checkin_badge_id_badge'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['device_id'], ['door_device.id'], name=op.f('fk_checkin_device_id_door_device'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['checkin.id'], name=op.f('fk_checkin_entry_id_checkin'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['list_id'], ['checkin_list.id'], name=op.f('fk_checkin_list_id_checkin_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_checkin_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('nonce', name=op.f('uq_checkin_nonce'))
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_list_created', ['list_id', 'created_at'], unique=False)
        batch_op.create_index('uq_checkin_live_entry', ['badge_id', 'list_id'], unique=True,
                              sqlite_where=sa.text(LIVE_ENTRY), postgresql_where=sa.text(LIVE_ENTRY))


def downgrade():
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('uq_checkin_live_entry')
        batch_op.drop_index('ix_checkin_list_created')
    op.drop_table('checkin')

    with op.batch_alter_table('door_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_door_device_event_id'))
    op.drop_table('door_device')

    with op.batch_alter_table('checkin_list', schema=None) as batch_op:
        batch_op.drop_index('uq_checkin_list_default_day')
        batch_op.drop_index(batch_op.f('ix_checkin_list_event_id'))
    op.drop_table('checkin_list')
