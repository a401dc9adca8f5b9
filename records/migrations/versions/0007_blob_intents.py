"""blob intents: blobs stored ahead of their record's commit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 08:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blob_intents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blob_intents'))
    )
    with op.batch_alter_table('blob_intents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blob_intents_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('blob_intents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blob_intents_sha256'))
    op.drop_table('blob_intents')
