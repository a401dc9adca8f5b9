"""totp, idempotency keys, ratings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:03:18.490805
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('dossier_code', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('ratings',
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=13), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_ratings_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('dossier_id', name=op.f('pk_ratings'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_secret')

    op.drop_table('ratings')
    op.drop_table('idempotency_keys')
