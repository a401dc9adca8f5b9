"""initial records schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 23:32:59.298880
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agencies'))
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The chain's head starts at the genesis hash: appenders only ever update this row.
    op.bulk_insert(
        sa.table('audit_head', sa.column('id', sa.Integer), sa.column('seq', sa.BigInteger),
                 sa.column('hash', sa.String)),
        [{'id': 1, 'seq': 0, 'hash': '0' * 64}],
    )
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_log_hash'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_object', ['object_type', 'object_id'], unique=False)

    op.create_table('document_counters',
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('type_code', sa.String(length=80), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'type_code', name=op.f('pk_document_counters'))
    )
    op.create_table('dossier_counters',
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'day', name=op.f('pk_dossier_counters'))
    )
    op.create_table('holidays',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_holidays'))
    )
    op.create_table('persons',
    sa.Column('owner_id', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('owner_id', name=op.f('pk_persons'))
    )
    op.create_table('branches',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_branches_agency_code_agencies')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_branches'))
    )
    op.create_table('procedures',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('processing_days', sa.Integer(), nullable=False),
    sa.Column('fee_vnd', sa.BigInteger(), nullable=False),
    sa.Column('result_type', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_procedures_agency_code_agencies')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_procedures'))
    )
    op.create_table('dossiers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('procedure_code', sa.String(length=40), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('branch_code', sa.String(length=40), nullable=False),
    sa.Column('applicant_id', sa.String(length=13), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clock_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handler', sa.String(length=80), nullable=True),
    sa.Column('signer', sa.String(length=80), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_dossiers_agency_code_agencies')),
    sa.ForeignKeyConstraint(['applicant_id'], ['persons.owner_id'], name=op.f('fk_dossiers_applicant_id_persons')),
    sa.ForeignKeyConstraint(['branch_code'], ['branches.code'], name=op.f('fk_dossiers_branch_code_branches')),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedures.code'], name=op.f('fk_dossiers_procedure_code_procedures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossiers')),
    sa.UniqueConstraint('code', name=op.f('uq_dossiers_code'))
    )
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_agency_status', ['agency_code', 'status'], unique=False)
        batch_op.create_index('ix_dossiers_applicant', ['applicant_id'], unique=False)
        batch_op.create_index('ix_dossiers_branch_status', ['branch_code', 'status'], unique=False)

    op.create_table('procedure_components',
    sa.Column('procedure_code', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('document_type', sa.String(length=80), nullable=False),
    sa.Column('mandatory', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedures.code'], name=op.f('fk_procedure_components_procedure_code_procedures')),
    sa.PrimaryKeyConstraint('procedure_code', 'code', name=op.f('pk_procedure_components'))
    )
    op.create_table('users',
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.String(length=200), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=True),
    sa.Column('branch_code', sa.String(length=40), nullable=True),
    sa.Column('owner_id', sa.String(length=13), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_users_agency_code_agencies')),
    sa.ForeignKeyConstraint(['branch_code'], ['branches.code'], name=op.f('fk_users_branch_code_branches')),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_users'))
    )
    op.create_table('api_tokens',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['users.username'], name=op.f('fk_api_tokens_username_users')),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_api_tokens'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('doc_code', sa.String(length=100), nullable=False),
    sa.Column('component_code', sa.String(length=40), nullable=False),
    sa.Column('document_type', sa.String(length=80), nullable=False),
    sa.Column('owner_id', sa.String(length=13), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('issuer', sa.String(length=300), nullable=True),
    sa.Column('copy_kind', sa.String(length=20), nullable=False),
    sa.Column('reuse_status', sa.String(length=30), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_documents_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('doc_code', name=op.f('uq_documents_doc_code'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_owner_id'), ['owner_id'], unique=False)

    op.create_table('dossier_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('from_status', sa.String(length=40), nullable=True),
    sa.Column('to_status', sa.String(length=40), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_history_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_history'))
    )
    with op.batch_alter_table('dossier_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_history_dossier_id'), ['dossier_id'], unique=False)

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
    op.create_table('document_versions',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('archival_sha256', sa.String(length=64), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('resolution_dpi', sa.Integer(), nullable=True),
    sa.Column('ocr_confidence', sa.Float(), nullable=True),
    sa.Column('signed', sa.Boolean(), nullable=False),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('suggested', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_versions_document_id_documents')),
    sa.PrimaryKeyConstraint('document_id', 'version', name=op.f('pk_document_versions'))
    )
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_versions_archival_sha256'), ['archival_sha256'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('input_sha256', sa.String(length=64), nullable=False),
    sa.Column('idem_key', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('pending_output', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_jobs_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('idem_key', name=op.f('uq_jobs_idem_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_state_not_before', ['state', 'not_before'], unique=False)

    op.create_table('document_files',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['document_id', 'version'], ['document_versions.document_id', 'document_versions.version'], name=op.f('fk_document_files_document_id_document_versions')),
    sa.PrimaryKeyConstraint('document_id', 'version', 'position', name=op.f('pk_document_files'))
    )
    with op.batch_alter_table('document_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_files_sha256'), ['sha256'], unique=False)

    op.create_table('document_pages',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('ocr_done', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['document_id', 'version'], ['document_versions.document_id', 'document_versions.version'], name=op.f('fk_document_pages_document_id_document_versions')),
    sa.PrimaryKeyConstraint('document_id', 'version', 'number', name=op.f('pk_document_pages'))
    )


def downgrade() -> None:
    op.drop_table('document_pages')
    with op.batch_alter_table('document_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_files_sha256'))

    op.drop_table('document_files')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_not_before')

    op.drop_table('jobs')
    with op.batch_alter_table('document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_versions_archival_sha256'))

    op.drop_table('document_versions')
    op.drop_table('results')
    with op.batch_alter_table('dossier_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_history_dossier_id'))

    op.drop_table('dossier_history')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_owner_id'))
        batch_op.drop_index(batch_op.f('ix_documents_dossier_id'))

    op.drop_table('documents')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('procedure_components')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_branch_status')
        batch_op.drop_index('ix_dossiers_applicant')
        batch_op.drop_index('ix_dossiers_agency_status')

    op.drop_table('dossiers')
    op.drop_table('procedures')
    op.drop_table('branches')
    op.drop_table('persons')
    op.drop_table('holidays')
    op.drop_table('dossier_counters')
    op.drop_table('document_counters')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_object')

    op.drop_table('audit_log')
    op.drop_table('audit_head')
    op.drop_table('agencies')
