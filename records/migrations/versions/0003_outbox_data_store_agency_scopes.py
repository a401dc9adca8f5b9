"""outbox, data store, agency scopes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:55:37.631223
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('doc_id', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['processed_at', 'id'], unique=False)

    op.create_table('store_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('owner_id', sa.String(length=13), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ref', sa.String(length=120), nullable=False),
    sa.Column('document_type', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('source_dossier', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_items')),
    sa.UniqueConstraint('ref', name=op.f('uq_store_items_ref'))
    )
    with op.batch_alter_table('store_items', schema=None) as batch_op:
        batch_op.create_index('ix_store_items_owner_type', ['owner_id', 'document_type', 'status'], unique=False)

    op.create_table('agency_scopes',
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('procedure_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedures.code'], name=op.f('fk_agency_scopes_procedure_code_procedures')),
    sa.ForeignKeyConstraint(['username'], ['users.username'], name=op.f('fk_agency_scopes_username_users')),
    sa.PrimaryKeyConstraint('username', 'procedure_code', name=op.f('pk_agency_scopes'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reuse_source', sa.String(length=120), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('reuse_source')

    op.drop_table('agency_scopes')
    with op.batch_alter_table('store_items', schema=None) as batch_op:
        batch_op.drop_index('ix_store_items_owner_type')

    op.drop_table('store_items')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox')
