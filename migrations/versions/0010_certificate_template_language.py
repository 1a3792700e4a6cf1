"""certificates: the language a template's texts are written in (certificate_template.language)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 13:15:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "certificate_template",
        sa.Column("language", sa.String(length=8), server_default="en", nullable=False),
    )


# Plain ALTER TABLE on SQLite too (3.35+ drops columns): a batch "move and copy" would drop the old table with
# foreign keys on, and ON DELETE CASCADE would take the issued certificates with it.


def downgrade():
    op.drop_column("certificate_template", "language")
