"""results, certificates and seal authorisations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:14:01.041626
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('result_counters',
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'year', name=op.f('pk_result_counters'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('serial', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pem', sa.Text(), nullable=False),
    sa.Column('store', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('owner_username', sa.String(length=80), nullable=True),
    sa.Column('agency_code', sa.String(length=40), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_certificates_agency_code_agencies')),
    sa.ForeignKeyConstraint(['owner_username'], ['users.username'], name=op.f('fk_certificates_owner_username_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_certificates_fingerprint'))
    )
    op.create_table('seal_authorisations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('custodian_username', sa.String(length=80), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=300), nullable=False),
    sa.Column('handover_reference', sa.String(length=300), nullable=False),
    sa.Column('granted_by', sa.String(length=80), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_seal_authorisations_agency_code_agencies')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_seal_authorisations_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['custodian_username'], ['users.username'], name=op.f('fk_seal_authorisations_custodian_username_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seal_authorisations'))
    )
    # No result was ever written under 0001 (results arrive with signing): rebuild the table.
    op.drop_table('results')
    op.create_table('results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('result_type', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('draft_sha256', sa.String(length=64), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_sha256', sa.String(length=64), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=False),
    sa.Column('signature_page', sa.Integer(), nullable=False),
    sa.Column('personal_box', sa.String(length=100), nullable=False),
    sa.Column('seal_box', sa.String(length=100), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signer_title', sa.String(length=300), nullable=False),
    sa.Column('signed_by', sa.String(length=80), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sealed_by', sa.String(length=80), nullable=True),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seal_certificate_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_results_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['seal_certificate_id'], ['certificates.id'], name=op.f('fk_results_seal_certificate_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results')),
    sa.UniqueConstraint('code', name=op.f('uq_results_code')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_results_dossier_id'))
    )


def downgrade() -> None:
    op.drop_table('results')
    op.create_table('results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('result_type', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('blob_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_results_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_results_dossier_id'))
    )
    op.drop_table('seal_authorisations')
    op.drop_table('certificates')
    op.drop_table('result_counters')
