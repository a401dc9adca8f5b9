"""statistics indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 02:31:15.432036
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_finished', ['finished_at'], unique=False)
        batch_op.create_index('ix_dossiers_received', ['received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_received')
        batch_op.drop_index('ix_dossiers_finished')

