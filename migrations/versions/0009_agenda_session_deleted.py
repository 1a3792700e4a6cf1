"""agenda: sessions deleted from the draft wait for the next publish (agenda_session.deleted_at)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on SQLite too (3.35+ drops columns): a batch "move and copy" of agenda_session would drop
# the old table with foreign keys on, and its ON DELETE CASCADE would empty session_speaker and agenda_star.


def upgrade():
    op.add_column('agenda_session', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('agenda_session', 'deleted_at')
